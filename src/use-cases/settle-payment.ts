import type { Logger } from 'pino'
import type { Payment } from '../domain/payment.js'
import { canTransition, type PaymentStatus } from '../domain/payment-status.js'
import { VersionConflictError } from '../domain/errors.js'
import { MetricName, type Metrics } from '../observability/metrics.js'
import type { PaymentStore, TransitionDetails } from '../store/payments.js'
import { retry } from '../lib/retry.js'

const ATTEMPTS = 3

const OUTCOME_METRICS: Partial<Record<PaymentStatus, (typeof MetricName)[keyof typeof MetricName]>> = {
  succeeded: MetricName.paymentSucceeded,
  failed: MetricName.paymentFailed
}

/**
 * Moves a payment towards `to` if the lifecycle allows it from where the payment is now. A
 * lost race (the version moved) re-reads and decides again; a move that is no longer allowed
 * (a late, duplicate or out-of-order event) changes nothing. Returns the payment as it ends up.
 */
export async function settlePayment (
  deps: { payments: PaymentStore, metrics: Metrics, logger: Logger },
  payment: Payment,
  to: PaymentStatus,
  details: TransitionDetails = {}
): Promise<Payment> {
  let current = payment
  return retry(async (attempt) => {
    // After a lost race, decide again from the payment as it is now.
    if (attempt > 1) current = await deps.payments.get(current.id) ?? current
    if (!canTransition(current.status, to)) {
      deps.logger.info({ paymentId: current.id, status: current.status, to }, 'no status change: the payment is already past it')
      return current
    }
    const next = await deps.payments.transition(current, to, details)
    const metric = OUTCOME_METRICS[to]
    if (metric !== undefined) deps.metrics.count(metric)
    deps.logger.info({ paymentId: next.id, from: current.status, to, version: next.version }, 'payment status changed')
    return next
  }, { attempts: ATTEMPTS, shouldRetry: (error) => error instanceof VersionConflictError })
}
