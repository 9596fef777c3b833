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

/** A payment provider behind one interface. */
export interface PaymentProvider {
  readonly name: string
  /** Charges once per idempotency key; declines are results, outages are thrown. */
  charge: (request: ChargeRequest, options: { signal: AbortSignal }) => Promise<ChargeResult>
}
