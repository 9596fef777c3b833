import swagger from '@fastify/swagger'
import type { FastifyInstance, FastifySchema } from 'fastify'

/**
 * Headers the document marks required although their schema is optional: the route checks
 * them itself, to answer with its own specific problem type instead of a validation error.
 */
const REQUIRED_BY_THE_ROUTE = ['idempotency-key']

/** A route's headers schema with the headers its route requires itself marked required. */
function withRouteRequiredHeaders (schema: FastifySchema): FastifySchema {
  const headers = schema.headers as { properties?: Record<string, unknown>, required?: string[] } | undefined
  const names = REQUIRED_BY_THE_ROUTE.filter((name) => headers?.properties?.[name] !== undefined)
  if (headers === undefined || names.length === 0) return schema
  return { ...schema, headers: { ...headers, required: [...new Set([...(headers.required ?? []), ...names])] } }
}

/**
 * The OpenAPI document of a ready app. The Lambda bundle replaces this module with one that
 * registers nothing and loads the document generated at build time from a chunk of its own on
 * first request (scripts/compile-schemas.ts), so @fastify/swagger is not on its cold path.
 */
export async function openapiDocument (app: FastifyInstance): Promise<unknown> {
  return app.swagger()
}

/** Collects every route's schemas into an OpenAPI 3 document, served at /openapi.json. */
export function openapi (app: FastifyInstance): void {
  app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'paylith',
        version: '1',
        description: 'Payments API. Errors are RFC 9457 application/problem+json. ' +
          'Authenticate with Authorization: Bearer <api key>; each route names the scope it needs. ' +
          'POST /v1/payments, POST /v1/payments/{id}/cancel and POST /v1/payments/{id}/refunds need an Idempotency-Key (IETF draft semantics): records are kept for IDEMPOTENCY_TTL_SECONDS (default 24 h), ' +
          'checked by the service itself, not only by DynamoDB TTL.'
      },
      // The local server names its own URL (src/local/docs-assets.ts).
      servers: [{ url: '/' }],
      components: {
        securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'An API key configured in API_KEYS.' } }
      }
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    transform: ({ schema: routeSchema, url, route }) => {
      const auth = route.config?.auth
      const schema = routeSchema === undefined ? routeSchema : withRouteRequiredHeaders(routeSchema)
      if (auth === undefined || auth === 'public' || schema === undefined) return { schema, url }
      const description = [schema.description, `Requires scope \`${auth.scope}\`.`].filter(Boolean).join(' ')
      return { schema: { ...schema, description, security: [{ apiKey: [] }] }, url }
    }
  })
}
