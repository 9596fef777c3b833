import type { Logger } from 'pino'
import { UnknownPaymentError } from '../domain/errors.js'
import type { PaymentStatus } from '../domain/payment-status.js'
import type { Metrics } from '../observability/metrics.js'
import type { ApplyWebhookCommand } from '../queue/commands.js'
import type { PaymentStore } from '../store/payments.js'
import type { WebhookStore } from '../store/webhooks.js'
import { WebhookEventType } from '../domain/webhooks/normalize.js'
import type { CommandHandler } from './work-queue.js'
import { settlePayment } from '../use-cases/settle-payment.js'

const TARGET: Record<string, PaymentStatus> = {
  [WebhookEventType.paymentSucceeded]: 'succeeded',
  [WebhookEventType.paymentFailed]: 'failed',
  [WebhookEventType.paymentRefunded]: 'refunded'
}

/**
 * `apply-webhook`: applies a stored provider event to its payment through the status machine.
 * A late, duplicate or out-of-order event never moves a payment backwards. An event for a
 * payment we cannot find yet throws, so SQS retries it a bounded number of times (the queue's
 * maxReceiveCount) before it lands in the dead-letter queue. Once applied (or found to need
 * nothing), the event is marked applied, so the webhook safety net stops waiting for it.
 */
export function createApplyWebhookHandler (deps: { payments: PaymentStore, webhooks: WebhookStore, metrics: Metrics, logger: Logger, clock: () => Date }): CommandHandler<ApplyWebhookCommand> {
  return async ({ provider, eventId }) => {
    const event = await deps.webhooks.get(provider, eventId)
    if (event === undefined) throw new UnknownPaymentError(`apply-webhook: no stored event ${provider}/${eventId}`)
    const to = TARGET[event.type]
    if (to === undefined) {
      await deps.webhooks.markApplied(provider, eventId, deps.clock())
      return
    }

    const payment = event.paymentId !== undefined
      ? await deps.payments.get(event.paymentId)
      : event.providerRef !== undefined ? await deps.payments.findByProviderRef(event.providerRef) : undefined
    if (payment === undefined) {
      throw new UnknownPaymentError(`apply-webhook: event ${provider}/${eventId} names no known payment (${event.paymentId ?? event.providerRef ?? 'no reference'})`)
    }
    await settlePayment(deps, payment, to, {
      ...(event.providerRef !== undefined && { providerRef: event.providerRef }),
      ...(event.reason !== undefined && { reason: event.reason })
    })
    await deps.webhooks.markApplied(provider, eventId, deps.clock())
  }
}
