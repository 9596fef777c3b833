import Fastify, { type FastifyInstance, type FastifyBaseLogger, type RawServerDefault } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Deps } from './deps.js'
import { problemDetails } from './plugins/problem-details.js'
import { healthRoutes } from './routes/health/index.js'
import { ProblemDetailsSchema } from './schemas/common.js'

/** The Fastify instance paylith builds, typed for TypeBox schemas. */
export type App = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>

/** What buildApp needs: every dependency comes in, nothing is read from module state. */
export interface BuildAppOptions {
  deps: Deps
}

/** Largest request body accepted, in bytes (webhooks are capped at 256 KB by the providers). */
export const BODY_LIMIT_BYTES = 256 * 1024

/**
 * Builds the one Fastify app that serves every route, for Lambda, the local server and tests
 * alike. It does not call `ready()`; the caller does.
 */
export function buildApp ({ deps }: BuildAppOptions): App {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    requestIdHeader: 'x-request-id',
    bodyLimit: BODY_LIMIT_BYTES,
    ajv: { customOptions: { allErrors: true, removeAdditional: false, coerceTypes: 'array', useDefaults: true } }
  }).withTypeProvider<TypeBoxTypeProvider>()

  app.addSchema(ProblemDetailsSchema)
  problemDetails(app)
  app.register(healthRoutes, { deps })

  return app
}
