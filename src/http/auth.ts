import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { ApiKey, ApiKeySource, Scope } from '../config/api-keys.js'
import { DependencyUnavailableError } from '../domain/errors.js'
import { ForbiddenError, UnauthorizedError } from './errors.js'

/** How a route is authenticated: a scope its API key must have, or public (health, docs, signed webhooks). */
export type RouteAuth = { scope: Scope } | 'public'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Every route declares this; a route without it fails at startup. */
    auth?: RouteAuth
  }
  interface FastifyRequest {
    /** The caller's API key, on authenticated routes. */
    apiKey: ApiKey | null
  }
}

/**
 * Bearer API-key authentication for every route. Routes declare `config.auth`; a route that
 * does not is refused when it is registered, so nothing is public by accident. Keys are
 * compared as SHA-256 hashes in constant time, against every configured key. A key matching
 * none makes the source look again (at most once a minute), so a key added to the secret works
 * without a redeploy; when the keys cannot be read the answer is 503, never 401.
 */
export function auth (app: FastifyInstance, apiKeys: ApiKeySource): void {
  app.decorateRequest('apiKey', null)

  app.addHook('onRoute', (route) => {
    if (route.config?.auth === undefined) {
      throw new Error(`route ${String(route.method)} ${route.url} declares no config.auth (a scope, or 'public')`)
    }
  })

  app.addHook('onRequest', async (request) => {
    const routeAuth = request.routeOptions.config.auth
    if (routeAuth === undefined || routeAuth === 'public') return
    const presented = presentedKeyHash(request)
    if (presented === undefined) throw new UnauthorizedError('a valid API key is required: send Authorization: Bearer <key>')
    let apiKey = findApiKey(presented, await apiKeys.current())
    if (apiKey === undefined) {
      const refreshed = await apiKeys.refreshAfterMiss()
      if (refreshed === 'unavailable') throw new DependencyUnavailableError('the API keys could not be read, so this key cannot be checked; try again in a minute', { dependency: 'secrets-manager' })
      if (refreshed !== 'unchanged') apiKey = findApiKey(presented, refreshed)
    }
    if (apiKey === undefined) throw new UnauthorizedError('a valid API key is required: send Authorization: Bearer <key>')
    if (!apiKey.scopes.has(routeAuth.scope)) throw new ForbiddenError(`this API key lacks the ${routeAuth.scope} scope`, { scope: routeAuth.scope })
    request.apiKey = apiKey
  })
}

/** The SHA-256 of the bearer key the request presents, if it presents one. */
function presentedKeyHash (request: FastifyRequest): Buffer | undefined {
  const match = /^Bearer ([^\s]+)$/i.exec(request.headers.authorization ?? '')
  return match === null ? undefined : createHash('sha256').update(match[1] as string).digest()
}

function findApiKey (presented: Buffer, apiKeys: readonly ApiKey[]): ApiKey | undefined {
  let found: ApiKey | undefined
  // Compare with every key, without stopping early, so timing says nothing about which matched.
  for (const apiKey of apiKeys) {
    if (timingSafeEqual(presented, apiKey.sha256) && found === undefined) found = apiKey
  }
  return found
}
