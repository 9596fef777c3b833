/** What a provider is asked to charge. */
export interface ChargeRequest {
  paymentId: string
  amount: number
  currency: string
  customerId: string
  description?: string
  metadata?: Record<string, string>
  /** The provider-side idempotency key: the payment id, so a retry never charges twice. */
  idempotencyKey: string
}

/** What a provider answered: charged, or declined for good. */
export type ChargeResult =
  | { outcome: 'succeeded', providerRef: string }
  | { outcome: 'declined', providerRef?: string, reason: string }
  /** Accepted but not settled yet (bank debits): the provider's webhook will say how it ends. */
  | { outcome: 'processing', providerRef: string }

/** A failure worth retrying later: the provider is down, slow or rate-limiting. */
export class TransientProviderError extends Error {
  constructor (message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'TransientProviderError'
  }
}

/**
 * The provider answered, but about this one request only (a 4xx-like error that is not a
 * decline: a concurrent request with the same idempotency key, a lock on the customer): worth
 * retrying like any transient failure, and no sign that the provider is down, so it never counts
 * against the provider-wide circuit breaker.
 */
export class ProviderRequestError extends TransientProviderError {
  constructor (message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'ProviderRequestError'
  }
}

/** A payment provider behind one interface. */
export interface PaymentProvider {
  readonly name: string
  /**
   * Charges once per idempotency key; declines are results, outages are thrown as
   * TransientProviderError, a failure about this request alone as ProviderRequestError.
   */
  charge: (request: ChargeRequest, options: { signal: AbortSignal }) => Promise<ChargeResult>
}
