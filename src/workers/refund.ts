import type { Logger } from 'pino'
import { StaleRefundError, UnknownPaymentError, VersionConflictError } from '../domain/errors.js'
import { pastProviderKeyWindow } from './charge.js'
import { providerIdempotencyKey } from '../domain/payment.js'
import type { Refund } from '../domain/refund.js'
import { MetricName, type Metrics } from '../observability/metrics.js'
import type { ResilientCharge } from '../providers/resilient.js'
import type { RefundRequest } from '../providers/types.js'
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
 * idempotency key (a retry after a crash replays, never refunds twice; a key the provider
 * answered with a 5xx and made no refund for is spent, `re_…/1`), behind the same breaker,
 * timeouts and retries as charges; then the refund succeeds (the payment's amountRefunded and
 * status move) or fails (its reservation is released). A refund no longer pending is acknowledged
 * as is (a redelivery, or its webhook came first). Accepted but pending at the provider, it stays
 * pending with the provider's reference recorded until the provider's webhook ends it, or the
 * next command (the sweeper's re-send) reads it back from the provider and ends it. While the
 * breaker is open the message is deferred, as a charge is; an outage throws, so SQS redelivers it.
 */
export function createRefundHandler (deps: SettleRefundDeps & {
  payments: Pick<PaymentStore, 'get'>
  refunds: Pick<RefundStore, 'get' | 'settle' | 'recordProviderRef' | 'retireProviderKey'>
  charge: Pick<ResilientCharge, 'refund' | 'retryAfterMs' | 'providerName'>
  workQueue: Pick<WorkQueue, 'defer'>
  config: { provider: { breaker: { resetTimeoutMs: number } } }
  clock: () => Date
}): CommandHandler<RefundCommand> {
  const refund: CommandHandler<RefundCommand> = async ({ paymentId, refundId }, _record, context) => {
    const pending = await deps.refunds.get(refundId)
    if (pending === undefined || pending.paymentId !== paymentId) throw new UnknownPaymentError(`refund: no refund ${refundId} of payment ${paymentId}`)
    if (pending.status !== 'pending') {
      deps.logger.info({ paymentId, refundId, status: pending.status }, 'refund: nothing to do, the refund already ended')
      return
    }
    // Not accepted yet, it may have reached the provider all the same. Past the providers' 24 h
    // idempotency window a second create could refund twice, so it is left to a person; one the
    // provider accepted (a reference) is only read back, safe at any age.
    if (pending.providerRef === undefined && pastProviderKeyWindow(pending.createdAt, deps.clock())) {
      throw new StaleRefundError(`refund: refund ${refundId} has been pending since ${pending.createdAt}; asking the provider again could refund twice`, { paymentId, refundId, createdAt: pending.createdAt })
    }
    const payment = await deps.payments.get(paymentId)
    if (payment === undefined) throw new UnknownPaymentError(`refund: no payment ${paymentId}`)
    let current = pending
    const request: RefundRequest = {
      refundId,
      paymentId,
      amount: pending.amount,
      currency: pending.currency,
      ...(payment.providerRef !== undefined && { providerRef: payment.providerRef }),
      ...(pending.reason !== undefined && { reason: pending.reason }),
      ...(pending.providerRef !== undefined && { refundRef: pending.providerRef }),
      idempotencyKey: providerIdempotencyKey(pending),
      retireIdempotencyKey: async () => {
        current = await deps.refunds.retireProviderKey(current)
        request.idempotencyKey = providerIdempotencyKey(current)
        return request.idempotencyKey
      }
    }
    const result = await deps.charge.refund(request, () => context?.getRemainingTimeInMillis() ?? 30_000)
    if (result.outcome === 'pending') {
      await recordAccepted(current, result.providerRef)
      return
    }
    await settleRefund(deps, current, result.outcome === 'succeeded'
      ? { status: 'succeeded', providerRef: result.providerRef }
      : { status: 'failed', reason: result.reason, ...(result.providerRef !== undefined && { providerRef: result.providerRef }) })
  }

  /** Keeps the provider's refund on the refund, so the next command (the sweeper's re-send) reads it back. */
  const recordAccepted = async (refund: Refund, providerRef: string): Promise<void> => {
    try {
      await deps.refunds.recordProviderRef(refund, providerRef)
    } catch (error) {
      if (!(error instanceof VersionConflictError)) throw error
      deps.logger.info({ paymentId: refund.paymentId, refundId: refund.id, providerRef }, 'refund accepted, and already ended meanwhile (its webhook came first): nothing more to record')
      return
    }
    deps.logger.info({ paymentId: refund.paymentId, refundId: refund.id, providerRef }, 'refund accepted, not settled yet: the provider\'s webhook will end it, or the sweeper\'s re-send reads it back')
  }

  return withProviderFailures(deps, { name: 'refund', stays: 'the refund stays pending', ids: ({ paymentId, refundId }) => ({ paymentId, refundId }) }, refund)
}
