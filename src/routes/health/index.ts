import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Deps } from '../../deps.js'
import { DependencyUnavailableError } from '../../domain/errors.js'
import { ProblemResponse } from '../../http/schemas.js'
import { HealthSchema, ReadinessSchema } from './schemas.js'

/** How long `/ready` waits for DynamoDB before it says the service is not ready. */
const READINESS_TIMEOUT_MS = 2_000

/** What the health routes need. */
export type HealthRouteDeps = Pick<Deps, 'table' | 'readiness'>

/** Liveness (`/health`, no I/O) and readiness (`/ready`, DynamoDB answers, further checks pass) probes; no auth. */
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
      summary: 'Readiness: DynamoDB answers for the payments table, and the local pollers keep up.',
      tags: ['operations'],
      response: { 200: ReadinessSchema, 503: ProblemResponse }
    }
  }, async () => {
    try {
      await deps.table.ping(READINESS_TIMEOUT_MS)
    } catch (error) {
      throw new DependencyUnavailableError(`DynamoDB did not answer for table ${deps.table.name}`, { dependency: 'dynamodb', cause: error })
    }
    const checks: Record<string, 'ok'> = {}
    for (const check of deps.readiness?.() ?? []) {
      if (!check.ok) throw new DependencyUnavailableError(check.detail, { dependency: check.name })
      checks[check.name] = 'ok'
    }
    return { status: 'ready' as const, checks: { ...checks, dynamodb: 'ok' as const } }
  })
}
