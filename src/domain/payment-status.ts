/** The states a payment can be in. */
export const PaymentStatus = {
  pending: 'pending',
  processing: 'processing',
  /** On-session: the customer has to authenticate the payment (3-D Secure) in the merchant's front end. */
  requires_action: 'requires_action',
  succeeded: 'succeeded',
  failed: 'failed',
  /** Part of the amount was given back (`amountRefunded` says how much); more may follow. */
  partially_refunded: 'partially_refunded',
  refunded: 'refunded',
  /** Canceled by the merchant while still pending: never sent to the provider. Final. */
  canceled: 'canceled'
} as const

/** One payment state. */
export type PaymentStatus = (typeof PaymentStatus)[keyof typeof PaymentStatus]

/** Every state, in lifecycle order. */
export const PAYMENT_STATUSES = Object.values(PaymentStatus)

/**
 * The lifecycle's single steps: `pending → processing → succeeded | failed`,
 * `processing → requires_action → succeeded | failed`,
 * `succeeded → partially_refunded → refunded`, `succeeded → refunded`, and
 * `pending → canceled` (final).
 */
const NEXT: Readonly<Record<PaymentStatus, readonly PaymentStatus[]>> = {
  pending: ['processing', 'canceled'],
  processing: ['requires_action', 'succeeded', 'failed'],
  requires_action: ['succeeded', 'failed'],
  succeeded: ['partially_refunded', 'refunded'],
  failed: [],
  partially_refunded: ['refunded'],
  refunded: [],
  canceled: []
}

/** Every state reachable from each state by one or more steps (forward skips included). */
const REACHABLE: Readonly<Record<PaymentStatus, ReadonlySet<PaymentStatus>>> = Object.fromEntries(
  PAYMENT_STATUSES.map((from) => [from, reachableFrom(from)])
) as unknown as Record<PaymentStatus, ReadonlySet<PaymentStatus>>

function reachableFrom (from: PaymentStatus): Set<PaymentStatus> {
  const seen = new Set<PaymentStatus>()
  const queue = [...NEXT[from]]
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    if (seen.has(next)) continue
    seen.add(next)
    queue.push(...NEXT[next])
  }
  return seen
}

/**
 * Whether a payment may move from `from` to `to`. Forward moves are allowed, skips included
 * (a provider's webhook may arrive before our worker: `pending → succeeded`); staying put,
 * going back or sideways (`failed → succeeded`) never is.
 */
export function canTransition (from: PaymentStatus, to: PaymentStatus): boolean {
  return REACHABLE[from].has(to)
}
