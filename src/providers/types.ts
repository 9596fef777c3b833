import type { ChargeConfirmation } from '../domain/payment.js'

/** What a provider is asked to charge. */
export interface ChargeRequest {
  paymentId: string
  amount: number
  currency: string
  customerId: string
  description?: string
  metadata?: Record<string, string>
  /**
   * The provider-side idempotency key: the payment id (with a generation once a key is spent), so
   * a retry never creates a second charge.
   */
  idempotencyKey: string
  /**
   * Gives up the current idempotency key because the provider answered it with a 5xx, which it
   * saves and replays for that key; records the next key (before anything is sent with it) and
   * returns it. The request's `idempotencyKey` is the new key afterwards.
   */
  retireIdempotencyKey?: () => Promise<string>
  /** Who confirms: paylith, off-session (`automatic`, the default), or the customer's browser (`client`). */
  confirmation?: ChargeConfirmation
  /** The provider's customer who pays (Stripe `cus_…`), for a saved payment method. */
  providerCustomer?: string
  /** The provider's payment method to charge (Stripe `pm_…`). */
  providerPaymentMethod?: string
  /** The provider's object an earlier attempt created (a PaymentIntent): looked up, not created again. */
  providerRef?: string
  /** Stores the provider's object as soon as it exists, before it is confirmed. */
  recordProviderRef?: (providerRef: string) => Promise<void>
}

/** The decline reason of an off-session charge the card issuer wants the customer to authenticate. */
export const AUTHENTICATION_REQUIRED = 'authentication_required'

/** What a provider answered: charged, or declined for good. */
export type ChargeResult =
  | { outcome: 'succeeded', providerRef: string }
  | { outcome: 'declined', providerRef?: string, reason: string }
  /** Accepted but not settled yet (bank debits): the provider's webhook will say how it ends. */
  | { outcome: 'processing', providerRef: string }
  /** On-session: the customer must confirm (and authenticate) in the browser with this client secret. */
  | { outcome: 'requires_action', providerRef: string, clientSecret: string }

/** What a provider is asked to give back: part or all of a payment it charged. */
export interface RefundRequest {
  refundId: string
  paymentId: string
  amount: number
  currency: string
  /** The provider's charge (Stripe: the PaymentIntent) to refund. */
  providerRef?: string
  reason?: string
  /**
   * The provider-side idempotency key: the refund id (with a generation once a key is spent), so
   * a retry never refunds twice.
   */
  idempotencyKey: string
  /**
   * Gives up the current idempotency key because the provider answered it with a 5xx (which it
   * replays for that key) and made no refund for it; records the next key (before anything is
   * sent with it) and returns it. The request's `idempotencyKey` is the new key afterwards.
   */
  retireIdempotencyKey?: () => Promise<string>
  /** The provider's refund an earlier attempt made (accepted, not settled then): read back, never created again. */
  refundRef?: string
}

/** What a provider answered about a refund. */
export type RefundResult =
  | { outcome: 'succeeded', providerRef: string }
  | { outcome: 'failed', providerRef?: string, reason: string }
  /** Accepted, not settled yet: the provider's webhook will say how it ends. */
  | { outcome: 'pending', providerRef: string }

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

/**
 * Not a decline and not an outage: paylith or its configuration is wrong (a bad key, a parameter
 * the provider refuses, an idempotency key reused with other parameters). Alerted on, never
 * retried within the invocation, and the payment stays retryable once someone fixes it.
 */
export class ProviderConfigurationError extends ProviderRequestError {
  constructor (message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'ProviderConfigurationError'
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
  /**
   * Refunds once per idempotency key, or reads back the refund `refundRef` names; a refusal is a
   * result (`failed`), errors as for charge.
   */
  refund: (request: RefundRequest, options: { signal: AbortSignal }) => Promise<RefundResult>
}
