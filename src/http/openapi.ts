import swagger from '@fastify/swagger'
import type { FastifyInstance } from 'fastify'

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
          'POST /v1/payments needs an Idempotency-Key (IETF draft semantics): records are kept for IDEMPOTENCY_TTL_SECONDS (default 24 h), ' +
          'checked by the service itself, not only by DynamoDB TTL.'
      },
      components: {
        securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'An API key configured in API_KEYS.' } }
      }
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    transform: ({ schema, url, route }) => {
      const auth = route.config?.auth
      if (auth === undefined || auth === 'public' || schema === undefined) return { schema, url }
      const description = [schema.description, `Requires scope \`${auth.scope}\`.`].filter(Boolean).join(' ')
      return { schema: { ...schema, description, security: [{ apiKey: [] }] }, url }
    }
  })
}
