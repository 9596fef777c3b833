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

/** The payments whose failures the breaker has seen lately. */
export interface FailureMemory {
  /** How many times `paymentId` failed within the time to live of its last failure; 0 if unknown. */
  failures: (paymentId: string, nowMs: number) => number
  /** Records one more failure of `paymentId`, now. */
  remember: (paymentId: string, nowMs: number) => void
  /** How many payments it holds. */
  readonly size: number
}

/**
 * A bounded memory of failed payments: each entry lives `ttlMs` from its last failure; past
 * `capacity` the oldest is forgotten first, so a burst of failures costs a fixed amount of
 * memory. Forgetting early only makes a payment count once more, never less.
 */
export function createFailureMemory ({ ttlMs, capacity }: { ttlMs: number, capacity: number }): FailureMemory {
  // A Map iterates in insertion order; re-inserting moves an entry to the end.
  const entries = new Map<string, { count: number, expiresAt: number }>()
  const failures = (paymentId: string, nowMs: number): number => {
    const entry = entries.get(paymentId)
    if (entry === undefined) return 0
    if (entry.expiresAt > nowMs) return entry.count
    entries.delete(paymentId)
    return 0
  }
  return {
    failures,
    remember (paymentId, nowMs) {
      const count = failures(paymentId, nowMs) + 1
      entries.delete(paymentId)
      entries.set(paymentId, { count, expiresAt: nowMs + ttlMs })
      for (const [oldest, entry] of entries) {
        if (entries.size <= capacity && entry.expiresAt > nowMs) break
        entries.delete(oldest)
      }
    },
    get size () { return entries.size }
  }
}
