import { NotFoundError, PaymentNotRefundableError, RefundExceedsAvailableError } from '../domain/errors.js'
import { newIdempotencyRecord, requestFingerprint } from '../domain/idempotency.js'
import { newRefund, refundableAmount, type NewRefund, type Refund } from '../domain/refund.js'
import { MetricName, type Metrics } from '../observability/metrics.js'
import type { PaymentStore } from '../store/payments.js'
import { REFUNDABLE_STATUSES, type RefundStore } from '../store/refunds.js'
import { idempotentAnswers, type CreatedResponse } from './idempotent-answers.js'

/** What a refund request did: made the refund, or replayed the answer of the request that did. */
export interface CreateRefundResult<Body> extends CreatedResponse<Body> {
  /** The refund's id (a replay of a record written before 2026-11-29: its payment's). */
  resourceId: string
  replayed: boolean
}

/** One refund request: the payment, what is asked for, under the caller's (`scope`) Idempotency-Key. */
export interface CreateRefundRequest {
  paymentId: string
  input: NewRefund
  scope: string
  key: string
}

/** The scope of refund keys: apart from payment creation's, so a key used for both is two keys. */
export const refundKeyScope = (apiKeyId: string): string => `${apiKeyId}#refunds`

/**
 * Refunds payments idempotently, with the same semantics as payment creation: a new key writes
 * the pending refund, its reservation on the payment and the key's record (with the answer
 * `respond` gives) in one transaction; a key used before replays that answer, or is refused
 * (another body or another payment: 422; still in flight: 409). The fingerprint covers the
 * payment id and the body as sent, so "all that is refundable" (no amount) replays as the
 * amount it was then.
 * @throws NotFoundError for no such payment
 * @throws PaymentNotRefundableError for a payment that is not succeeded or partially_refunded
 * @throws RefundExceedsAvailableError for more than the payment can still give back
 */
export function createRefundUseCase<Body> (
  deps: { payments: Pick<PaymentStore, 'get'>, refunds: Pick<RefundStore, 'createIdempotently'>, ids: () => string, clock: () => Date, metrics: Metrics, idempotencyTtlSeconds: number },
  respond: (refund: Refund) => CreatedResponse<Body>
): (request: CreateRefundRequest) => Promise<CreateRefundResult<Body>> {
  const answers = idempotentAnswers<Body>(deps.clock)

  return async ({ paymentId, input, scope, key }) => {
    const claim = { scope, key, fingerprint: requestFingerprint({ paymentId, ...input }) }
    const cached = answers.cached(claim)
    if (cached !== undefined) return cached

    const now = deps.clock()

    const payment = await deps.payments.get(paymentId)
    if (payment === undefined) throw new NotFoundError(`payment ${paymentId} does not exist`)
    // All that is refundable when no amount is given; if nothing is, the whole amount, which the reservation refuses with the answer to give.
    const available = refundableAmount(payment)
    const amount = input.amount ?? (available > 0 ? available : payment.amount)
    const refund = newRefund(deps.ids(), payment, amount, input.reason, now)
    const response = respond(refund)
    const record = newIdempotencyRecord(claim, { resourceId: refund.id, statusCode: response.statusCode, body: JSON.stringify(response.body) }, now, deps.idempotencyTtlSeconds)
    const outcome = await deps.refunds.createIdempotently(refund, record)
    if (outcome.outcome === 'key-taken') return answers.replay(claim, outcome.taken)
    if (outcome.outcome === 'refused') {
      const refusedBy = outcome.payment
      if (refusedBy === undefined) throw new NotFoundError(`payment ${paymentId} does not exist`)
      if (!REFUNDABLE_STATUSES.includes(refusedBy.status)) {
        throw new PaymentNotRefundableError(`payment ${paymentId} is ${refusedBy.status}; only a succeeded or partially refunded payment can be refunded`, { paymentId, status: refusedBy.status })
      }
      const left = Math.max(0, refusedBy.amountRefundable ?? refusedBy.amount)
      throw new RefundExceedsAvailableError(`a refund of ${amount} ${refusedBy.currency} exceeds what payment ${paymentId} can still give back: ${left} ${refusedBy.currency} (minor units)`, { paymentId, requested: amount, available: left, currency: refusedBy.currency })
    }

    answers.remember(record)
    deps.metrics.count(MetricName.refundCreated)
    return { resourceId: refund.id, ...response, replayed: false }
  }
}
