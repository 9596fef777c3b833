import { newIdempotencyRecord, requestFingerprint } from '../domain/idempotency.js'
import type { NewPayment, Payment } from '../domain/payment.js'
import { MetricName, type Metrics } from '../observability/metrics.js'
import { newPayment, type PaymentStore } from '../store/payments.js'
import { idempotentAnswers, type CreatedResponse } from './idempotent-answers.js'

/** What a create did: made the payment, or replayed the answer of the request that did. */
export interface CreatePaymentResult<Body> extends CreatedResponse<Body> {
  /** The payment's id. */
  resourceId: string
  /** A new payment's body as the JSON text its key stores (a replay's is parsed from it). */
  json?: string
  replayed: boolean
}

/** One create request: the payment asked for, under the caller's (`scope`) Idempotency-Key. */
export interface CreatePaymentRequest {
  input: NewPayment
  scope: string
  key: string
}

/**
 * Creates payments idempotently. A new key writes the pending payment, its first history event
 * and the key's record (with the answer `respond` gives) in one transaction; a key used before
 * replays that answer, or is refused (another body: 422; still in flight: 409). Completed records
 * are kept in a per-instance cache, so a replay on a warm instance costs no round trip.
 */
export function createPaymentUseCase<Body> (
  deps: { payments: PaymentStore, ids: () => string, clock: () => Date, metrics: Metrics, idempotencyTtlSeconds: number },
  respond: (payment: Payment) => CreatedResponse<Body>
): (request: CreatePaymentRequest) => Promise<CreatePaymentResult<Body>> {
  const answers = idempotentAnswers<Body>(deps.clock)

  return async ({ input, scope, key }) => {
    const claim = { scope, key, fingerprint: requestFingerprint(input) }
    const cached = answers.cached(claim)
    if (cached !== undefined) return cached

    const now = deps.clock()

    const payment = newPayment(deps.ids(), input, now)
    const response = respond(payment)
    const record = newIdempotencyRecord(claim, { resourceId: payment.id, statusCode: response.statusCode, body: JSON.stringify(response.body) }, now, deps.idempotencyTtlSeconds)
    const outcome = await deps.payments.createIdempotently(payment, record)
    if (!outcome.created) return answers.replay(claim, outcome)

    answers.remember(record)
    deps.metrics.count(MetricName.paymentCreated)
    return { resourceId: payment.id, ...response, json: record.body, replayed: false }
  }
}
