import { setTimeout as sleep } from 'node:timers/promises'

/** How to try an operation again after it failed. */
export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number
  /** How long to wait after the given failed try (1-based) before the next one; none by default. */
  delayMs?: (attempt: number) => number
  /** Whether this failure is worth another try, knowing the wait before it; every failure by default. */
  shouldRetry?: (error: unknown, next: { attempt: number, delayMs: number }) => boolean
  /** Called just before waiting for the next try (to log it). */
  onRetry?: (error: unknown, next: { attempt: number, delayMs: number }) => void
  /** Once aborted, no further try is made: a wait in progress ends at once and the last failure is thrown. */
  signal?: AbortSignal
}

/**
 * Runs `operation` until it succeeds, a failure is not worth retrying, the tries run out or
 * `policy.signal` aborts; then throws the last failure as it is. `operation` gets the 1-based
 * number of its try.
 */
export async function retry<T> (operation: (attempt: number) => Promise<T>, policy: RetryPolicy): Promise<T> {
  const { signal } = policy
  const aborted = (): boolean => signal?.aborted === true
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt)
    } catch (error) {
      if (attempt >= policy.attempts || aborted()) throw error
      const next = { attempt: attempt + 1, delayMs: policy.delayMs?.(attempt) ?? 0 }
      if (policy.shouldRetry !== undefined && !policy.shouldRetry(error, next)) throw error
      policy.onRetry?.(error, next)
      if (next.delayMs > 0) await sleep(next.delayMs, undefined, { signal }).catch(() => {})
      if (aborted()) throw error
    }
  }
}

/**
 * Exponential backoff with full jitter: after the n-th failed try, a random wait in
 * [0, min(cap, base × 2ⁿ⁻¹)).
 * NOTE: https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 */
export function fullJitter (baseMs: number, capMs: number, random: () => number = Math.random): (attempt: number) => number {
  return (attempt) => Math.floor(random() * Math.min(capMs, baseMs * 2 ** (attempt - 1)))
}
