import type { Logger } from 'pino'
import { StaleChargeError, UnknownPaymentError } from '../domain/errors.js'
import { MetricName, type Metrics } from '../observability/metrics.js'
import { CircuitOpenError, type ResilientCharge } from '../providers/resilient.js'
import { ProviderConfigurationError, type ChargeRequest } from '../providers/types.js'
import { providerIdempotencyKey, type Payment } from '../domain/payment.js'
import type { ChargeCommand } from '../queue/commands.js'
import { Deferred, MAX_DELAY_SECONDS, deferralsOf, type WorkQueue } from '../queue/work-queue.js'
import type { PaymentStore } from '../store/payments.js'
import type { CommandHandler } from './work-queue.js'
import { settlePayment } from '../use-cases/settle-payment.js'

/** Providers keep idempotency keys for 24 hours; this is the margin paylith keeps under that. */
export const PROVIDER_KEY_WINDOW_MS = 23 * 3_600_000

/** Why a charge was given back to the queue for later. */
export const DeferralReason = {
  circuitOpen: 'circuit-open'
} as const

/**
 * How long to hold a charge back while the breaker is open: until it lets a trial call through
 * (`retryAfterMs`, at least a second), plus a random spread that doubles with each deferral of
 * the same message (full jitter, from the reset timeout up to SQS's 15-minute cap), so a long
 * outage is retried less and less often and the waiting messages do not all come back at once.
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

/**
 * `charge`: charges a pending payment once. A payment no longer pending or processing is
 * acknowledged as is (a redelivery, or a webhook got there first). Otherwise it moves to
 * processing, the provider is called with the payment id as its idempotency key (a retry after
 * a crash replays, never charges twice), and the payment moves to succeeded or failed. A
 * decline fails the payment for good; an outage throws, so SQS redelivers the message.
 * While the breaker is open the provider is not called and the message is deferred instead
 * (WorkQueue.defer): the outage is not the message's fault, so it must not spend the receives
 * that send it to the dead-letter queue. Deferred on a standard queue, the charge comes back as
 * a new message, so no outage shorter than forever dead-letters a healthy payment; each
 * deferral is a `ChargeDeferred` metric, which is how operators see an outage.
 */
export function createChargeHandler (deps: {
  payments: PaymentStore
  charge: ResilientCharge
  workQueue: Pick<WorkQueue, 'defer'>
  config: { provider: { breaker: { resetTimeoutMs: number } } }
  metrics: Metrics
  logger: Logger
  clock: () => Date
}): CommandHandler<ChargeCommand> {
  const chargeOrDefer: CommandHandler<ChargeCommand> = async (command, record, context) => {
    try {
      await charge(command, record, context)
    } catch (error) {
      if (error instanceof ProviderConfigurationError) {
        // Not the card's fault and not an outage: a person must fix the key or the code. The
        // payment stays processing and the message goes back to the queue (then the DLQ).
        deps.metrics.count(MetricName.providerMisconfigured, { provider: deps.charge.providerName })
        deps.logger.error({ err: error, paymentId: command.paymentId }, 'charge: the provider refused the request as misconfigured; the payment stays retryable')
      }
      if (!(error instanceof CircuitOpenError)) throw error
      const deferrals = deferralsOf(record) + Math.max(0, Number(record.attributes.ApproximateReceiveCount) - 1)
      const delaySeconds = deferralDelaySeconds({ retryAfterMs: deps.charge.retryAfterMs(), resetTimeoutMs: deps.config.provider.breaker.resetTimeoutMs, deferrals })
      const deferred = await deps.workQueue.defer(record, delaySeconds)
      deps.metrics.count(MetricName.chargeDeferred, { reason: DeferralReason.circuitOpen })
      deps.logger.warn({ paymentId: command.paymentId, delaySeconds, deferrals, deferred }, 'charge deferred: the provider circuit is open')
      // Hidden (FIFO): the record must fail, or it would be deleted; its visibility is already set.
      if (deferred === Deferred.hidden) throw error
    }
  }
  const charge: CommandHandler<ChargeCommand> = async ({ paymentId }, _record, context) => {
    let payment = await deps.payments.get(paymentId)
    if (payment === undefined) throw new UnknownPaymentError(`charge: no payment ${paymentId}`)
    if (payment.status === 'pending') payment = await settlePayment(deps, payment, 'processing')
    if (payment.status !== 'processing') {
      deps.logger.info({ paymentId, status: payment.status }, 'charge: nothing to do, the payment is already settled')
      return
    }
    if (payment.awaitingProvider === true) {
      deps.logger.info({ paymentId }, 'charge: nothing to do, the provider will settle it by webhook')
      return
    }
    // A processing payment may have reached the provider already. Past the providers' 24 h
    // idempotency window a second call could charge again, so it is left to a person.
    if (deps.clock().getTime() - Date.parse(payment.createdAt) > PROVIDER_KEY_WINDOW_MS) {
      throw new StaleChargeError(`charge: payment ${paymentId} has been processing since ${payment.createdAt}; calling the provider again could charge twice`, { paymentId, createdAt: payment.createdAt })
    }

    const request: ChargeRequest = {
      paymentId,
      amount: payment.amount,
      currency: payment.currency,
      customerId: payment.customerId,
      ...(payment.description !== undefined && { description: payment.description }),
      ...(payment.metadata !== undefined && { metadata: payment.metadata }),
      ...(payment.confirmation !== undefined && { confirmation: payment.confirmation }),
      ...(payment.providerCustomer !== undefined && { providerCustomer: payment.providerCustomer }),
      ...(payment.providerPaymentMethod !== undefined && { providerPaymentMethod: payment.providerPaymentMethod }),
      ...(payment.providerRef !== undefined && { providerRef: payment.providerRef }),
      recordProviderRef: async (providerRef) => { payment = await deps.payments.recordProviderRef(payment as Payment, providerRef) },
      idempotencyKey: providerIdempotencyKey(payment),
      retireIdempotencyKey: async () => {
        payment = await deps.payments.retireProviderKey(payment as Payment)
        request.idempotencyKey = providerIdempotencyKey(payment)
        return request.idempotencyKey
      }
    }
    const result = await deps.charge(request, () => context?.getRemainingTimeInMillis() ?? 30_000)

    if (result.outcome === 'requires_action') {
      await settlePayment(deps, payment, 'requires_action', { providerRef: result.providerRef, clientSecret: result.clientSecret })
    } else if (result.outcome === 'processing') {
      await deps.payments.markAwaitingProvider(payment, result.providerRef)
      deps.logger.info({ paymentId, providerRef: result.providerRef }, 'charge accepted, not settled yet: the provider\'s webhook will settle it')
    } else if (result.outcome === 'succeeded') {
      await settlePayment(deps, payment, 'succeeded', { providerRef: result.providerRef })
    } else {
      await settlePayment(deps, payment, 'failed', { reason: result.reason, ...(result.providerRef !== undefined && { providerRef: result.providerRef }) })
    }
  }
  return chargeOrDefer
}
