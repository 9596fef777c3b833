import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Deps } from '../../deps.js'
import { DependencyUnavailableError } from '../../domain/errors.js'
import { ProblemResponse } from '../../http/schemas.js'
import { HealthSchema, ReadinessSchema } from './schemas.js'

/** How long `/ready` waits for DynamoDB before it says the service is not ready. */
export const READINESS_TIMEOUT_MS = 2_000

/** What the health routes need. */
export type HealthRouteDeps = Pick<Deps, 'table'>

/** Liveness (`/health`, no I/O) and readiness (`/ready`, DynamoDB answers) probes; no auth. */
export const healthRoutes: FastifyPluginAsyncTypebox<{ deps: HealthRouteDeps }> = async (app, { deps }) => {
  app.get('/health', {
    config: { auth: 'public' },
    schema: {
      summary: 'Liveness: the process is up. Does no I/O.',
      tags: ['operations'],
      response: { 200: HealthSchema }
    }
  }, async () => ({ status: 'ok' as const }))

  app.get('/ready', {
    config: { auth: 'public' },
    schema: {
      summary: 'Readiness: DynamoDB answers for the payments table.',
      tags: ['operations'],
      response: { 200: ReadinessSchema, 503: ProblemResponse }
    }
  }, async () => {
    try {
      await deps.table.ping(READINESS_TIMEOUT_MS)
    } catch (error) {
      throw new DependencyUnavailableError(`DynamoDB did not answer for table ${deps.table.name}`, { dependency: 'dynamodb', cause: error })
    }
    return { status: 'ready' as const, checks: { dynamodb: 'ok' as const } }
  })
}
