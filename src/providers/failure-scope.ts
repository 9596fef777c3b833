import { ProviderRequestError } from './types.js'

/** Whom a failed charge is about, and so whether the provider-wide breaker counts it. */
export const FailureScope = {
  /** The provider answered about this one request (a 4xx-like error): it is up. Never counted. */
  request: 'request',
  /** A payment that has failed before, failing again: its own problem, counted once already. */
  payment: 'payment',
  /** A timeout, a connection error, a 5xx: maybe the provider. Counted. */
  provider: 'provider'
} as const

/** One failure scope. */
export type FailureScope = (typeof FailureScope)[keyof typeof FailureScope]

/**
 * Classifies a failed charge (its retries included) for the circuit breaker. A payment that
 * fails again and again (a card the processor chokes on, a request that always times out)
 * counts once, so a handful of such payments cannot keep the breaker open for everyone; many
 * different payments failing (an outage) still open it. The half-open breaker's one trial call
 * counts whatever payment it is, since in an outage every waiting payment has failed before.
 */
export function failureScope (error: unknown, { repeated, trial }: { repeated: boolean, trial: boolean }): FailureScope {
  if (error instanceof ProviderRequestError) return FailureScope.request
  if (repeated && !trial) return FailureScope.payment
  return FailureScope.provider
}

/** The payments whose failure the breaker has counted lately. */
export interface FailureMemory {
  /** Whether `paymentId` failed (and was counted) within the memory's time to live. */
  has: (paymentId: string, nowMs: number) => boolean
  /** Remembers that `paymentId` failed now. */
  remember: (paymentId: string, nowMs: number) => void
  /** Forgets everything (the breaker opened: those failures were the outage's). */
  clear: () => void
  /** How many payments it holds. */
  readonly size: number
}

/**
 * A bounded memory of failed payments: each entry lives `ttlMs`; past `capacity` the oldest is
 * forgotten first, so a burst of failures costs a fixed amount of memory. Forgetting early only
 * makes a payment count once more, never less.
 */
export function createFailureMemory ({ ttlMs, capacity }: { ttlMs: number, capacity: number }): FailureMemory {
  // A Map iterates in insertion order; re-inserting moves an entry to the end.
  const expiries = new Map<string, number>()
  return {
    has (paymentId, nowMs) {
      const expiry = expiries.get(paymentId)
      if (expiry === undefined) return false
      if (expiry > nowMs) return true
      expiries.delete(paymentId)
      return false
    },
    remember (paymentId, nowMs) {
      expiries.delete(paymentId)
      expiries.set(paymentId, nowMs + ttlMs)
      for (const [oldest, expiry] of expiries) {
        if (expiries.size <= capacity && expiry > nowMs) break
        expiries.delete(oldest)
      }
    },
    clear () { expiries.clear() },
    get size () { return expiries.size }
  }
}
