import type { Logger } from 'pino'
import { StaleChargeError, UnknownPaymentError } from '../domain/errors.js'
import type { Metrics } from '../observability/metrics.js'
import type { ResilientCharge } from '../providers/resilient.js'
import type { ChargeRequest } from '../providers/types.js'
import { providerIdempotencyKey, type Payment } from '../domain/payment.js'
import type { ChargeCommand } from '../queue/commands.js'
import type { WorkQueue } from '../queue/work-queue.js'
import type { PaymentStore } from '../store/payments.js'
import type { CommandHandler } from './work-queue.js'
import { settlePayment } from '../use-cases/settle-payment.js'
import { withProviderFailures } from './provider-failures.js'

/** Providers keep idempotency keys for 24 hours; this is the margin paylith keeps under that. */
export const PROVIDER_KEY_WINDOW_MS = 23 * 3_600_000

/** Whether something made at `createdAt` is older, at `now`, than a provider call may safely be repeated (PROVIDER_KEY_WINDOW_MS). */
export function pastProviderKeyWindow (createdAt: string, now: Date): boolean {
  return now.getTime() - Date.parse(createdAt) > PROVIDER_KEY_WINDOW_MS
}

/**
 * `charge`: charges a pending payment once. A payment no longer pending or processing is
 * acknowledged as is (a redelivery, or a webhook got there first). Otherwise it moves to
 * processing, the provider is called with the payment id as its idempotency key (a retry after
 * a crash replays, never charges twice), and the payment moves to succeeded or failed. A
 * decline fails the payment for good; an outage throws, so SQS redelivers the message.
 * While the breaker is open the message is deferred, and a misconfigured provider alerts
 * (withProviderFailures). Deferred on a standard queue, the charge comes back as a new message,
 * so no outage shorter than forever dead-letters a healthy payment.
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
    if (pastProviderKeyWindow(payment.createdAt, deps.clock())) {
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
  return withProviderFailures(deps, { name: 'charge', stays: 'the payment stays retryable', ids: ({ paymentId }) => ({ paymentId }) }, charge)
}
