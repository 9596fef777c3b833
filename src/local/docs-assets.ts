import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { App } from '../app.js'
import { SWAGGER_UI_ASSETS_PATH } from '../routes/docs/index.js'

/** The Swagger UI files the docs page loads, with their content types. */
const ASSETS = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8'
} as const

/**
 * Serves Swagger UI's files from the `swagger-ui-dist` package (a devDependency), so /docs
 * works offline on the local server; the Lambda's page keeps loading them from a CDN.
 * Registered before the app is ready; the docs page then points at these files.
 */
export function serveDocsAssets (app: App): void {
  const root = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'))
  for (const [file, type] of Object.entries(ASSETS)) {
    app.get(`${SWAGGER_UI_ASSETS_PATH}${file}`, { config: { auth: 'public' }, schema: { hide: true } }, async (_request, reply) =>
      reply.type(type).header('cache-control', 'public, max-age=3600').send(await readFile(join(root, file))))
  }
}

/**
 * Locally, the OpenAPI document names this server (its URL is known once it listens), so
 * "Try it out" on /docs sends requests to it.
 */
export function serveLocalServerUrl (app: App, url: () => string | undefined): void {
  app.addHook('preSerialization', async (request, _reply, payload) => {
    const serverUrl = url()
    if (request.routeOptions.url !== '/openapi.json' || serverUrl === undefined) return payload
    return { ...(payload as object), servers: [{ url: serverUrl }] }
  })
}
