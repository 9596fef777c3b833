import Fastify, { type FastifyInstance, type FastifyBaseLogger, type RawServerDefault } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Deps } from './deps.js'
import { auth } from './http/auth.js'
import { openapi } from './http/openapi.js'
import { answerError, problemDetails } from './http/problem-details.js'
import { answerClientError } from './http/client-errors.js'
import { buildLazySerializer } from './http/lazy-compilers.js'
import { buildValidator } from './http/validation.js'
import { docsRoutes } from './routes/docs/index.js'
import { healthRoutes } from './routes/health/index.js'
import { customerRoutes } from './routes/customers/index.js'
import { deadLetterRoutes } from './routes/dead-letters/index.js'
import { settlementRoutes } from './routes/settlements/index.js'
import { paymentRoutes } from './routes/payments/index.js'
import { refundRoutes } from './routes/refunds/index.js'
import { webhookRoutes } from './routes/webhooks/index.js'
import { ProblemDetailsSchema } from './http/schemas.js'
import { BODY_LIMIT_BYTES } from './http/body-limit.js'
import { requestIdHeader } from './http/request-id.js'
import { requestIdForRequest } from './observability/request-id.js'

/** The Fastify instance paylith builds, typed for TypeBox schemas. */
export type App = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>

/** What buildApp needs: every dependency comes in, nothing is read from module state. */
export interface BuildAppOptions {
  deps: Deps
}

/**
 * Builds the one Fastify app that serves every route, for Lambda, the local server and tests
 * alike. It does not call `ready()`; the caller does.
 */
export function buildApp ({ deps }: BuildAppOptions): App {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Never the client's X-Request-Id: API Gateway's id in Lambda, a new one otherwise.
    requestIdHeader: false,
    genReqId: requestIdForRequest,
    bodyLimit: BODY_LIMIT_BYTES,
    // What Fastify and Node refuse before routing is problem+json too, not their plain JSON.
    frameworkErrors: (error, request, reply) => { answerError(error, request, reply) },
    clientErrorHandler: answerClientError,
    schemaController: { compilersFactory: { buildValidator, buildSerializer: buildLazySerializer } }
  }).withTypeProvider<TypeBoxTypeProvider>()

  // JSON only: anything else is 415, never a string body that fails validation by surprise.
  app.removeContentTypeParser('text/plain')
  app.addSchema(ProblemDetailsSchema)
  requestIdHeader(app)
  problemDetails(app)
  auth(app, deps.apiKeys)
  openapi(app)
  app.register(healthRoutes, { deps })
  app.register(docsRoutes)
  app.register(paymentRoutes, { prefix: '/v1/payments', deps })
  app.register(refundRoutes, { prefix: '/v1', deps })
  app.register(webhookRoutes, { prefix: '/v1/webhooks', deps })
  app.register(customerRoutes, { prefix: '/v1/customers', deps })
  app.register(deadLetterRoutes, { prefix: '/v1/dead-letters', deps })
  app.register(settlementRoutes, { prefix: '/v1/settlements', deps })
  // A request's metrics are written when it ends (in Lambda the handler flushes too, once more).
  app.addHook('onResponse', (_request, _reply, done) => { deps.metrics.flush(); done() })
  app.addHook('onClose', (_instance, done) => { deps.metrics.flush(); done() })

  return app
}
