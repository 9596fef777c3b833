import type { Logger } from 'pino'
import { startLocalRuntime, type LocalRuntime } from '../../src/local/runtime.js'
import { createLogger } from '../../src/observability/logger.js'
import { bearer, testConfig, type Teardownable } from './build.js'
import { jsonLines } from './lines.js'

/** The work queue's visibility timeout in these runs unless given (scaled down from 30 s; locally also the invocation timeout). */
export const VISIBILITY_TIMEOUT_SECONDS = 2

/** Receives before the dead-letter queue, as deployed. */
export const MAX_RECEIVE_COUNT = 5

/** The local runtime under test, and what the breaker tests ask of it. */
export interface BreakerHarness {
  runtime: LocalRuntime
  metrics: Array<Record<string, unknown>>
  create: (amount: number, customerId: string) => Promise<string>
  statusOf: (paymentId: string) => Promise<string>
  deadLettered: () => Promise<Set<string>>
  count: (metric: string) => number
}

/**
 * The whole service on the local runtime (SQS pollers on the emulator, DynamoDB Local, the
 * sandbox) with scaled-down timings: a 2 s visibility timeout (also the local invocation timeout), 5 receives, a 200 ms provider
 * timeout and a 1 s breaker reset. Metric documents are kept.
 */
export async function startBreakerRuntime (t: Teardownable, { visibilityTimeoutSeconds = VISIBILITY_TIMEOUT_SECONDS } = {}): Promise<BreakerHarness> {
  const logger: Logger = createLogger({ logLevel: 'silent' })
  const config = await testConfig(t.name, {
    PORT: '0',
    SQS_WAIT_TIME_SECONDS: '1',
    VISIBILITY_TIMEOUT_SECONDS: String(visibilityTimeoutSeconds),
    MAX_RECEIVE_COUNT: String(MAX_RECEIVE_COUNT),
    STREAM_POLL_INTERVAL_MS: '50',
    PROVIDER_TIMEOUT_MS: '200',
    PROVIDER_BACKOFF_BASE_MS: '10',
    PROVIDER_BACKOFF_CAP_MS: '50',
    BREAKER_RESET_TIMEOUT_MS: '1000'
  })
  const metrics = jsonLines()
  const runtime = await startLocalRuntime(config, logger, { metricsDestination: metrics.sink })
  t.teardown(() => runtime.stop())
  const api = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${runtime.url}${path}`, {
      method,
      headers: { ...bearer(), ...(body !== undefined && { 'content-type': 'application/json' }), ...headers },
      ...(body !== undefined && { body: JSON.stringify(body) })
    })
    return { status: response.status, body: await response.json() as Record<string, unknown> }
  }
  return {
    runtime,
    metrics: metrics.lines,
    async create (amount, customerId) {
      const response = await api('POST', '/v1/payments', { amount, currency: 'EUR', customerId }, { 'idempotency-key': `k-${amount}-${customerId}-${Math.random()}` })
      if (response.status !== 201) throw new Error(`create answered ${response.status}`)
      return response.body.id as string
    },
    statusOf: async (paymentId) => (await api('GET', `/v1/payments/${paymentId}`)).body.status as string,
    async deadLettered () {
      const { deadLetters } = await runtime.deps.deadLetters.list({ limit: 1_000 })
      return new Set(deadLetters.flatMap((deadLetter) => deadLetter.paymentId ?? []))
    },
    count: (metric) => metrics.lines.reduce((sum, document) => sum + (typeof document[metric] === 'number' ? document[metric] : 0), 0)
  }
}
