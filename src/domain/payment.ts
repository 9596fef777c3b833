import type { PaymentStatus } from './payment-status.js'

/** Who confirms a charge: paylith off-session (merchant-initiated), or the customer's browser on-session. */
export const ChargeConfirmation = {
  automatic: 'automatic',
  client: 'client'
} as const

/** One way to confirm. */
export type ChargeConfirmation = (typeof ChargeConfirmation)[keyof typeof ChargeConfirmation]

/** A payment as stored: amounts in integer minor units of an ISO 4217 currency. */
export interface Payment {
  id: string
  status: PaymentStatus
  amount: number
  currency: string
  customerId: string
  description?: string
  metadata?: Record<string, string>
  /** Starts at 1; every status change is a conditional write that increments it. */
  version: number
  providerRef?: string
  /**
   * How many of the provider idempotency keys this payment has given up on: a key whose request
   * got a 5xx answer is spent, because the provider replays that answer for 24 hours. Absent: none.
   */
  providerKeyGeneration?: number
  /** Who confirms the charge: paylith off-session (`automatic`, when absent) or the customer's browser (`client`). */
  confirmation?: ChargeConfirmation
  /** The provider's customer who pays (Stripe `cus_…`). */
  providerCustomer?: string
  /** The provider's payment method to charge (Stripe `pm_…`). */
  providerPaymentMethod?: string
  /** On-session, while `requires_action`: what the merchant's front end confirms with (Stripe.js). */
  clientSecret?: string
  /** The provider accepted the charge and will settle it by webhook (bank debits). */
  awaitingProvider?: boolean
  /** Why it failed: the provider's decline code. */
  failureReason?: string
  /** What succeeded refunds gave back so far, in minor units (0 when absent). */
  amountRefunded?: number
  /**
   * What refunds still pending hold, in minor units (0 when absent). Reserved atomically with the
   * refund's creation and released when it ends; not a status change, so no version.
   */
  amountReserved?: number
  /**
   * amount − amountRefunded − amountReserved, kept by the same writes that change those two, so a
   * refund's reservation is one condition on one attribute (DynamoDB conditions do no arithmetic).
   * Absent until the first refund: the whole amount.
   */
  amountRefundable?: number
  /** Set when paylith stopped moving it and a person has to look; cleared by its next status change. */
  attention?: PaymentAttention
  /** How often the sweeper re-sent its charge, and when it may next. Not a status change: no version, no history. */
  resends?: PaymentResends
  createdAt: string
  updatedAt: string
}

/** Why an unsettled payment needs a person. */
export const AttentionReason = {
  /** Its command exhausted its retries: see the dead letter. */
  deadLettered: 'dead-lettered',
  /** Unsettled for longer than providers keep idempotency keys: the sweeper will not re-charge it. */
  unsettledTooLong: 'unsettled-too-long',
  /** The sweeper re-sent its charge as often as it may (SWEEP_MAX_RESENDS) and gave up. */
  resendsExhausted: 'resends-exhausted'
} as const

/** One attention reason. */
export type AttentionReason = (typeof AttentionReason)[keyof typeof AttentionReason]

/** Why a payment is stuck where it is, since when, and the dead letter that says more. */
export interface PaymentAttention {
  reason: AttentionReason
  since: string
  deadLetterId?: string
}

/** The sweeper's re-sends of a payment's charge: how many so far, and the earliest time of the next. */
export interface PaymentResends {
  count: number
  nextAt: string
}

/** What a client asks for when creating a payment. */
export interface NewPayment {
  amount: number
  currency: string
  customerId: string
  description?: string
  metadata?: Record<string, string>
  confirmation?: ChargeConfirmation
  providerCustomer?: string
  providerPaymentMethod?: string
}

/** One entry of a payment's status history. */
export interface PaymentEvent {
  paymentId: string
  version: number
  status: PaymentStatus
  previousStatus: PaymentStatus | null
  at: string
  reason?: string
}

/**
 * The idempotency key paylith sends the provider for this payment's charge (or this refund): its
 * id, and once a key has been spent on a saved 5xx answer (see `providerKeyGeneration`), its id
 * and generation (`pay_…/1`, `re_…/1`).
 */
export function providerIdempotencyKey (payment: Pick<Payment, 'id' | 'providerKeyGeneration'>): string {
  const generation = payment.providerKeyGeneration ?? 0
  return generation === 0 ? payment.id : `${payment.id}/${generation}`
}
