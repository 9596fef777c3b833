import type { Logger } from 'pino'
import { MetricName, type Metrics } from '../observability/metrics.js'
import { CircuitOpenError, type ResilientCharge } from '../providers/resilient.js'
import { ProviderConfigurationError } from '../providers/types.js'
import { Deferred, MAX_DELAY_SECONDS, deferralsOf, type WorkQueue } from '../queue/work-queue.js'
import type { WorkCommand } from '../queue/commands.js'
import type { CommandHandler } from './work-queue.js'

/** Why a provider command was given back to the queue for later. */
export const DeferralReason = {
  circuitOpen: 'circuit-open'
} as const

/**
 * How long to hold a provider command back while the breaker is open: until it lets a trial
 * call through (`retryAfterMs`, at least a second), plus a random spread that doubles with each
 * deferral of the same message (full jitter, from the reset timeout up to SQS's 15-minute cap),
 * so a long outage is retried less and less often and the waiting messages do not all come back
 * at once.
 */
export function deferralDelaySeconds ({ retryAfterMs, resetTimeoutMs, deferrals, random = Math.random }: {
  retryAfterMs: number
  resetTimeoutMs: number
  /** How many times this message has been deferred (or received) before. */
  deferrals: number
  random?: () => number
}): number {
  const spread = Math.min(MAX_DELAY_SECONDS, Math.ceil(resetTimeoutMs / 1000) * 2 ** Math.min(deferrals, 10))
  return Math.min(MAX_DELAY_SECONDS, Math.max(1, Math.ceil(retryAfterMs / 1000)) + Math.floor(random() * spread))
}

/** What handling a provider command's failures needs. */
export interface ProviderFailureDeps {
  charge: Pick<ResilientCharge, 'retryAfterMs' | 'providerName'>
  workQueue: Pick<WorkQueue, 'defer'>
  config: { provider: { breaker: { resetTimeoutMs: number } } }
  metrics: Metrics
  logger: Logger
}

/**
 * A command that calls the provider (a charge, a refund), with what the provider's failures mean
 * for its message. A configuration error (a bad key, a refused parameter) is not the payment's
 * fault and not an outage: `ProviderMisconfigured` and an error line alert, and the message goes
 * back to the queue (then the DLQ), the work left as it was (`stays`). While the breaker is open
 * the provider is not called and the message is deferred instead (WorkQueue.defer): the outage is
 * not the message's fault, so it must not spend the receives that send it to the dead-letter
 * queue; each deferral is a `ChargeDeferred` (or `RefundDeferred`) metric, which is how operators see an outage.
 * Anything else fails the message.
 */
export function withProviderFailures<C extends WorkCommand & { paymentId: string }> (
  deps: ProviderFailureDeps,
  what: { name: 'charge' | 'refund', stays: string, ids: (command: C) => Record<string, string> },
  handler: CommandHandler<C>
): CommandHandler<C> {
  return async (command, record, context) => {
    try {
      await handler(command, record, context)
    } catch (error) {
      if (error instanceof ProviderConfigurationError) {
        deps.metrics.count(MetricName.providerMisconfigured, { provider: deps.charge.providerName })
        deps.logger.error({ err: error, ...what.ids(command) }, `${what.name}: the provider refused the request as misconfigured; ${what.stays}`)
      }
      if (!(error instanceof CircuitOpenError)) throw error
      const deferrals = deferralsOf(record) + Math.max(0, Number(record.attributes.ApproximateReceiveCount) - 1)
      const delaySeconds = deferralDelaySeconds({ retryAfterMs: deps.charge.retryAfterMs(), resetTimeoutMs: deps.config.provider.breaker.resetTimeoutMs, deferrals })
      const deferred = await deps.workQueue.defer(record, delaySeconds)
      deps.metrics.count(what.name === 'refund' ? MetricName.refundDeferred : MetricName.chargeDeferred, { reason: DeferralReason.circuitOpen })
      deps.logger.warn({ ...what.ids(command), delaySeconds, deferrals, deferred }, `${what.name} deferred: the provider circuit is open`)
      // Hidden (FIFO): the record must fail, or it would be deleted; its visibility is already set.
      if (deferred === Deferred.hidden) throw error
    }
  }
}
