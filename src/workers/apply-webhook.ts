import type { Logger } from 'pino'
import { UnknownPaymentError } from '../domain/errors.js'
import type { PaymentStatus } from '../domain/payment-status.js'
import { MetricName, type Metrics } from '../observability/metrics.js'
import type { ApplyWebhookCommand } from '../queue/commands.js'
import type { PaymentStore } from '../store/payments.js'
import type { StoredWebhookEvent, WebhookStore } from '../store/webhooks.js'
import type { RefundStore } from '../store/refunds.js'
import { RefundOrigin, type Refund } from '../domain/refund.js'
import { settleRefund } from './refund.js'
import { WebhookEventType } from '../domain/webhooks/normalize.js'
import type { CommandHandler } from './work-queue.js'
import { settlePayment } from '../use-cases/settle-payment.js'

const TARGET: Record<string, PaymentStatus> = {
  [WebhookEventType.paymentSucceeded]: 'succeeded',
  [WebhookEventType.paymentFailed]: 'failed',
  [WebhookEventType.paymentRefunded]: 'refunded'
}

/**
 * A refund's own event. Paylith's refund (named by `refundId`) ends as the event says, unless
 * the worker (or an earlier event) ended it first: then nothing changes. A succeeded refund
 * paylith did not make (the provider's dashboard) is recorded against its payment, once per
 * provider refund id; one without an amount cannot be, and is only logged.
 */
async function applyRefundEvent (
  deps: { payments: PaymentStore, refunds: RefundStore, refundIds: () => string, metrics: Metrics, logger: Logger, clock: () => Date },
  event: StoredWebhookEvent
): Promise<void> {
  const succeeded = event.type === WebhookEventType.refundSucceeded
  const known = event.refundId === undefined ? undefined : await deps.refunds.get(event.refundId)
  if (known !== undefined) {
    await settleRefund(deps, known, succeeded
      ? { status: 'succeeded', ...(event.providerRefundRef !== undefined && { providerRef: event.providerRefundRef }) }
      : { status: 'failed', reason: event.reason ?? 'refund_failed', ...(event.providerRefundRef !== undefined && { providerRef: event.providerRefundRef }) })
    return
  }
  const payment = event.paymentId !== undefined
    ? await deps.payments.get(event.paymentId)
    : event.providerRef !== undefined ? await deps.payments.findByProviderRef(event.providerRef) : undefined
  if (payment === undefined) {
    throw new UnknownPaymentError(`apply-webhook: refund event ${event.provider}/${event.eventId} names no known payment (${event.paymentId ?? event.providerRef ?? 'no reference'})`)
  }
  const providerRef = event.providerRefundRef ?? event.refundId
  if (!succeeded || event.refundAmount === undefined || providerRef === undefined) {
    deps.logger.info({ paymentId: payment.id, eventId: event.eventId, type: event.type }, 'refund event about no refund paylith knows, with nothing to record: ignored')
    return
  }
  const at = deps.clock().toISOString()
  const refund: Refund = { id: deps.refundIds(), paymentId: payment.id, amount: event.refundAmount, currency: payment.currency, status: 'succeeded', providerRef, origin: RefundOrigin.provider, createdAt: at, updatedAt: at }
  const outcome = await deps.refunds.recordExternal(payment, refund)
  if (outcome === 'recorded') deps.metrics.count(MetricName.refundSucceeded)
  deps.logger.info({ paymentId: payment.id, refundId: refund.id, providerRef, amount: refund.amount, outcome }, outcome === 'recorded' ? 'refund made at the provider recorded' : 'refund made at the provider already recorded')
}

/**
 * `apply-webhook`: applies a stored provider event to its payment through the status machine.
 * A late, duplicate or out-of-order event never moves a payment backwards. An event for a
 * payment we cannot find yet throws, so SQS retries it a bounded number of times (the queue's
 * maxReceiveCount) before it lands in the dead-letter queue. Once applied (or found to need
 * nothing), the event is marked applied, so the webhook safety net stops waiting for it.
 * A refund's own event ends that refund, or records one made at the provider (applyRefundEvent).
 */
export function createApplyWebhookHandler (deps: { payments: PaymentStore, refunds: RefundStore, refundIds: () => string, webhooks: WebhookStore, metrics: Metrics, logger: Logger, clock: () => Date }): CommandHandler<ApplyWebhookCommand> {
  return async ({ provider, eventId }) => {
    const event = await deps.webhooks.get(provider, eventId)
    if (event === undefined) throw new UnknownPaymentError(`apply-webhook: no stored event ${provider}/${eventId}`)
    if (event.type === WebhookEventType.refundSucceeded || event.type === WebhookEventType.refundFailed) {
      await applyRefundEvent(deps, event)
      await deps.webhooks.markApplied(provider, eventId, deps.clock())
      return
    }
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
