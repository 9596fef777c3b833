import type { PaymentAttention, PaymentResends } from './payment.js'

/** The states a refund can be in: `pending → succeeded | failed`, both final. */
export const RefundStatus = {
  pending: 'pending',
  succeeded: 'succeeded',
  failed: 'failed'
} as const

/** One refund state. */
export type RefundStatus = (typeof RefundStatus)[keyof typeof RefundStatus]

/** Every refund state, in lifecycle order. */
export const REFUND_STATUSES = Object.values(RefundStatus)

/** The reasons providers know by name (Stripe's `reason`); any other text up to 200 characters is kept as the merchant's own. */
export const RefundReason = {
  requestedByCustomer: 'requested_by_customer',
  duplicate: 'duplicate',
  fraudulent: 'fraudulent'
} as const

/** Longest free-text refund reason, in characters. */
export const MAX_REFUND_REASON_LENGTH = 200

/** Who started a refund: paylith (`POST /v1/payments/{id}/refunds`), or the provider (its dashboard), learnt by webhook. */
export const RefundOrigin = {
  api: 'api',
  provider: 'provider'
} as const

/** One refund origin. */
export type RefundOrigin = (typeof RefundOrigin)[keyof typeof RefundOrigin]

/** A refund of (part of) a payment, in the payment's currency and minor units. */
export interface Refund {
  id: string
  paymentId: string
  amount: number
  currency: string
  status: RefundStatus
  reason?: string
  /** Why it failed: the provider's code (`refund_declined`). */
  failureReason?: string
  /** The provider's own refund id (Stripe `re_…`), once known. */
  providerRef?: string
  /** Absent: started through the API. */
  origin?: RefundOrigin
  /**
   * How many of the provider idempotency keys this refund has given up on (a create answered with
   * a 5xx that made no refund, see the Stripe provider); absent: none. Never shown by the API.
   */
  providerKeyGeneration?: number
  /** Set when the sweeper stopped re-sending it and a person has to look; dropped when it ends. */
  attention?: PaymentAttention
  /** How often the sweeper re-sent its `refund` command, and when it may next. */
  resends?: PaymentResends
  createdAt: string
  updatedAt: string
}

/** What a client asks for: how much (all that is still refundable when absent), and why. */
export interface NewRefund {
  amount?: number
  reason?: string
}

/** A new pending refund's stored form. */
export function newRefund (id: string, payment: { id: string, currency: string }, amount: number, reason: string | undefined, now: Date): Refund {
  const at = now.toISOString()
  return { id, paymentId: payment.id, amount, currency: payment.currency, status: 'pending', ...(reason !== undefined && { reason }), createdAt: at, updatedAt: at }
}

/** What a payment can still give back: its amount less what was refunded and what refunds still pending hold. */
export function refundableAmount (payment: { amount: number, amountRefunded?: number, amountReserved?: number }): number {
  return payment.amount - (payment.amountRefunded ?? 0) - (payment.amountReserved ?? 0)
}
