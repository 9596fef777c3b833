import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { openapiDocument } from '../../http/openapi.js'

/** Swagger UI version the docs page loads; pinned so the page does not change under us. */
const SWAGGER_UI_VERSION = '5.17.14'

/** Where an app that serves Swagger UI's files itself (the local server, offline) serves them. */
export const SWAGGER_UI_ASSETS_PATH = '/docs/assets/'

const CDN = `https://unpkg.com/swagger-ui-dist@${SWAGGER_UI_VERSION}/`

/**
 * The docs page: a few hundred bytes of HTML that load Swagger UI in the reader's browser and
 * point it at /openapi.json. In Lambda the UI comes from a CDN, so nothing of it is bundled
 * and it costs the cold start nothing; the local server serves it itself, so it works offline.
 */
const docsHtml = (base: string): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>paylith API</title>
<link rel="stylesheet" href="${base}swagger-ui.css" crossorigin="anonymous">
</head>
<body>
<div id="docs"></div>
<script src="${base}swagger-ui-bundle.js" crossorigin="anonymous"></script>
<script>window.onload = () => { window.ui = SwaggerUIBundle({ url: 'openapi.json', dom_id: '#docs' }) }</script>
</body>
</html>
`

/** `GET /openapi.json` (the OpenAPI 3 document generated from the route schemas) and `GET /docs`. */
export const docsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  let html: string | undefined
  // Decided on the first request, once every route is known: local files when the app serves them.
  const page = (): string => {
    html ??= docsHtml(app.hasRoute({ method: 'GET', url: `${SWAGGER_UI_ASSETS_PATH}swagger-ui.css` }) ? SWAGGER_UI_ASSETS_PATH : CDN)
    return html
  }

  app.get('/openapi.json', {
    config: { auth: 'public' },
    schema: { hide: true }
  }, async () => await openapiDocument(app))

  app.get('/docs', {
    config: { auth: 'public' },
    schema: { hide: true }
  }, async (_request, reply) => reply.type('text/html; charset=utf-8').send(page()))
}
