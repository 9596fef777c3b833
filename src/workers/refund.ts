import type { Logger } from 'pino'
import { UnknownPaymentError } from '../domain/errors.js'
import type { Refund } from '../domain/refund.js'
import { MetricName, type Metrics } from '../observability/metrics.js'
import type { ResilientCharge } from '../providers/resilient.js'
import type { RefundCommand } from '../queue/commands.js'
import type { WorkQueue } from '../queue/work-queue.js'
import type { PaymentStore } from '../store/payments.js'
import type { RefundOutcome, RefundStore } from '../store/refunds.js'
import { withProviderFailures } from './provider-failures.js'
import type { CommandHandler } from './work-queue.js'

/** What ending a refund needs: the store, and the metrics and log that tell of it. */
export interface SettleRefundDeps {
  refunds: Pick<RefundStore, 'settle'>
  metrics: Metrics
  logger: Logger
}

/**
 * Ends a pending refund with the provider's outcome, once, whoever learns it first (the worker
 * or a webhook): the other changes nothing and counts nothing. Returns whether this call ended it.
 */
export async function settleRefund (deps: SettleRefundDeps, refund: Refund, outcome: RefundOutcome): Promise<boolean> {
  const settled = await deps.refunds.settle(refund, outcome)
  if (settled === undefined) {
    deps.logger.info({ paymentId: refund.paymentId, refundId: refund.id, to: outcome.status }, 'refund already ended: nothing changes')
    return false
  }
  deps.metrics.count(outcome.status === 'succeeded' ? MetricName.refundSucceeded : MetricName.refundFailed)
  deps.logger.info({ paymentId: refund.paymentId, refundId: refund.id, status: outcome.status, paymentStatus: settled.payment?.status, amountRefunded: settled.payment?.amountRefunded }, `refund ${outcome.status}`)
  return true
}

/**
 * `refund`: asks the provider for a pending refund once, with the refund id as the provider's
 * idempotency key (a retry after a crash replays, never refunds twice), behind the same breaker,
 * timeouts and retries as charges; then the refund succeeds (the payment's amountRefunded and
 * status move) or fails (its reservation is released). A refund no longer pending is acknowledged
 * as is (a redelivery, or its webhook came first). Accepted but pending at the provider, it stays
 * pending until the provider's webhook ends it. While the breaker is open the message is deferred,
 * as a charge is; an outage throws, so SQS redelivers it.
 */
export function createRefundHandler (deps: SettleRefundDeps & {
  payments: Pick<PaymentStore, 'get'>
  refunds: Pick<RefundStore, 'get' | 'settle'>
  charge: Pick<ResilientCharge, 'refund' | 'retryAfterMs' | 'providerName'>
  workQueue: Pick<WorkQueue, 'defer'>
  config: { provider: { breaker: { resetTimeoutMs: number } } }
}): CommandHandler<RefundCommand> {
  const refund: CommandHandler<RefundCommand> = async ({ paymentId, refundId }, _record, context) => {
    const pending = await deps.refunds.get(refundId)
    if (pending === undefined || pending.paymentId !== paymentId) throw new UnknownPaymentError(`refund: no refund ${refundId} of payment ${paymentId}`)
    if (pending.status !== 'pending') {
      deps.logger.info({ paymentId, refundId, status: pending.status }, 'refund: nothing to do, the refund already ended')
      return
    }
    const payment = await deps.payments.get(paymentId)
    if (payment === undefined) throw new UnknownPaymentError(`refund: no payment ${paymentId}`)
    const result = await deps.charge.refund({
      refundId,
      paymentId,
      amount: pending.amount,
      currency: pending.currency,
      ...(payment.providerRef !== undefined && { providerRef: payment.providerRef }),
      ...(pending.reason !== undefined && { reason: pending.reason }),
      idempotencyKey: refundId
    }, () => context?.getRemainingTimeInMillis() ?? 30_000)
    if (result.outcome === 'pending') {
      deps.logger.info({ paymentId, refundId, providerRef: result.providerRef }, 'refund accepted, not settled yet: the provider\'s webhook will end it')
      return
    }
    await settleRefund(deps, pending, result.outcome === 'succeeded'
      ? { status: 'succeeded', providerRef: result.providerRef }
      : { status: 'failed', reason: result.reason, ...(result.providerRef !== undefined && { providerRef: result.providerRef }) })
  }

  return withProviderFailures(deps, { name: 'refund', stays: 'the refund stays pending', ids: ({ paymentId, refundId }) => ({ paymentId, refundId }) }, refund)
}
