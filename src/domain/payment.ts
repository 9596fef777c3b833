import type { PaymentStatus } from './payment-status.js'

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
  /** The provider accepted the charge and will settle it by webhook (bank debits). */
  awaitingProvider?: boolean
  failureReason?: string
  createdAt: string
  updatedAt: string
}

/** What a client asks for when creating a payment. */
export interface NewPayment {
  amount: number
  currency: string
  customerId: string
  description?: string
  metadata?: Record<string, string>
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
