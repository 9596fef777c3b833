import { isLive, newIdempotencyRecord, requestFingerprint } from '../domain/idempotency.js'
import { NotFoundError, PaymentNotCancelableError, VersionConflictError } from '../domain/errors.js'
import type { Payment } from '../domain/payment.js'
import { MetricName, type Metrics } from '../observability/metrics.js'
import { movedPayment, type PaymentStore } from '../store/payments.js'
import { idempotentAnswers, type CreatedResponse } from './idempotent-answers.js'

/** How often a cancel reads the payment again after it moved between the read and the write (an attention flag, a lost race). */
const ATTEMPTS = 3

/** What a cancel did: canceled the payment, or replayed the answer of the request that did. */
export interface CancelPaymentResult<Body> extends CreatedResponse<Body> {
  replayed: boolean
}

/** One cancel request: the payment, under the caller's (`scope`) Idempotency-Key. */
export interface CancelPaymentRequest {
  paymentId: string
  scope: string
  key: string
}

/**
 * Cancels pending payments idempotently, as payment creation is: a new key writes `canceled`, its
 * history event and the key's record (with the answer `respond` gives) in one transaction,
 * conditional on the payment still being pending at the version read, so of a cancel and the
 * charge worker's `pending → processing` exactly one wins. A key used before replays its answer,
 * or is refused (another request: 422; still in flight: 409), whatever the payment did since.
 * @throws NotFoundError for an unknown payment
 * @throws PaymentNotCancelableError for a payment no longer pending
 */
export function cancelPaymentUseCase<Body> (
  deps: { payments: PaymentStore, clock: () => Date, metrics: Metrics, idempotencyTtlSeconds: number },
  respond: (payment: Payment) => CreatedResponse<Body>
): (request: CancelPaymentRequest) => Promise<CancelPaymentResult<Body>> {
  const answers = idempotentAnswers<Body>(deps.clock)

  return async ({ paymentId, scope, key }) => {
    // The request is the operation on its payment: the same key for another payment (or a create) is 422.
    const claim = { scope, key, fingerprint: requestFingerprint({ operation: 'cancel', paymentId }) }
    const cached = answers.cached(claim)
    if (cached !== undefined) return cached

    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      const payment = await deps.payments.get(paymentId)
      if (payment === undefined) throw new NotFoundError(`payment ${paymentId} does not exist`)
      if (payment.status !== 'pending') {
        // A retry of a cancel that succeeded finds the payment canceled: its key answers, not the status.
        const record = await deps.payments.idempotencyRecord(scope, key)
        if (record !== undefined && isLive(record, deps.clock())) return answers.replay(claim, { by: 'completed', record })
        throw new PaymentNotCancelableError(`payment ${paymentId} is ${payment.status}; only a pending payment can be canceled`, { paymentId, status: payment.status })
      }
      const now = deps.clock()
      const canceled = movedPayment(payment, 'canceled', now)
      const response = respond(canceled)
      const record = newIdempotencyRecord(claim, { resourceId: paymentId, statusCode: response.statusCode, body: JSON.stringify(response.body) }, now, deps.idempotencyTtlSeconds)
      const outcome = await deps.payments.cancelIdempotently(payment, canceled, record)
      if (outcome.canceled) {
        answers.remember(record)
        deps.metrics.count(MetricName.paymentCanceled)
        return { ...response, replayed: false }
      }
      if (outcome.by !== 'moved') return answers.replay(claim, outcome)
    }
    throw new VersionConflictError(`payment ${paymentId} kept changing while it was being canceled; try again`, { paymentId, expectedVersion: 0 })
  }
}
