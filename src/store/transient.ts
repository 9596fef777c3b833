import { setTimeout as sleep } from 'node:timers/promises'
import { DependencyThrottledError } from '../domain/errors.js'
import { fullJitter } from '../lib/retry.js'

/**
 * Why DynamoDB refused a write for now, saying nothing about its items: the same write may
 * succeed a moment later. The first three are cancellation reasons of a TransactWriteItems
 * (`ThrottlingError` while an on-demand table or index scales, `ProvisionedThroughputExceeded`
 * on provisioned capacity, `TransactionConflict` with a transaction writing the same item); the
 * last is a single-item write meeting such a transaction. The SDK retries none of them.
 * NOTE: https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html
 * NOTE: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html#transaction-conflict-handling
 */
export const TransientReason = {
  throttling: 'ThrottlingError',
  provisionedThroughputExceeded: 'ProvisionedThroughputExceeded',
  transactionConflict: 'TransactionConflict',
  transactionConflictException: 'TransactionConflictException'
} as const

/** One transient reason. */
export type TransientReason = (typeof TransientReason)[keyof typeof TransientReason]

/** The transient reasons that are capacity, not contention. */
export const THROTTLING_REASONS: readonly TransientReason[] = [TransientReason.throttling, TransientReason.provisionedThroughputExceeded]

/** One write DynamoDB refused for a transient reason, as the metric and the logs tell it. */
export interface TransientEvent {
  /** The store operation that wrote (`payments.create`, `summaries.apply`, …). */
  operation: string
  reason: TransientReason
  /** The try that was refused (1-based). */
  attempt: number
  /** Whether another try follows; false when the tries or the time budget ran out. */
  retrying: boolean
}

/** How a write refused for a transient reason is tried again: a few tries, full-jitter backoff, within a time budget. */
export interface TransientRetry {
  /** Tries in all, the first included. */
  attempts: number
  /** Backoff: a random wait in [0, min(capMs, baseMs × 2ⁿ⁻¹)) after the n-th refused try. */
  baseMs: number
  capMs: number
  /** No try starts later than this after the first one. */
  budgetMs: number
  /** What a caller that gives up tells its client to wait (`Retry-After`). */
  retryAfterSeconds: number
  /** Told of every transient refusal (the `DynamoDbThrottled` metric). */
  onTransient?: (event: TransientEvent) => void
  /** A number in [0, 1); Math.random unless a test needs a sequence. */
  random?: () => number
}

/** Four tries within a second, about 175 ms of waiting on average: small next to an API's patience and a stream batch's time. */
export const DEFAULT_TRANSIENT_RETRY: TransientRetry = { attempts: 4, baseMs: 50, capMs: 400, budgetMs: 1_000, retryAfterSeconds: 1 }

/** One try's outcome: its value, and the transient reason it was refused for, if it was (then `value` is what to answer if no try is left). */
export interface TransientTry<T> {
  value: T
  transient?: TransientReason
}

/**
 * Runs `tryOnce` until it is not refused for a transient reason, or the policy's tries or time
 * budget run out; answers the last try's value. Only for writes that are safe to send again:
 * each guarded by its own conditions, and a refused one wrote nothing.
 */
export async function retryTransient<T> (operation: string, policy: TransientRetry, tryOnce: () => Promise<TransientTry<T>>): Promise<T> {
  const started = Date.now()
  const delayMs = fullJitter(policy.baseMs, policy.capMs, policy.random)
  for (let attempt = 1; ; attempt++) {
    const { value, transient } = await tryOnce()
    if (transient === undefined) return value
    const wait = delayMs(attempt)
    const retrying = attempt < policy.attempts && Date.now() - started + wait <= policy.budgetMs
    policy.onTransient?.({ operation, reason: transient, attempt, retrying })
    if (!retrying) return value
    if (wait > 0) await sleep(wait)
  }
}

/** The error a caller gives up with once `retryTransient` ran out of tries: nothing was written, and `Retry-After` says when to try again. */
export function throttledError ({ operation, reason, policy, cause }: { operation: string, reason: TransientReason, policy: TransientRetry, cause: unknown }, subject: string): DependencyThrottledError {
  return new DependencyThrottledError(`DynamoDB refused ${subject} for now (${reason}) until the tries ran out; nothing was written, try again shortly`, {
    dependency: 'dynamodb',
    operation,
    reason,
    retryAfterSeconds: policy.retryAfterSeconds,
    cause
  })
}

/**
 * The error names an AWS SDK call throws once its own retries for throttling ran out
 * (DynamoDB's `ProvisionedThroughputExceededException`, `ThrottlingException` and
 * `RequestLimitExceeded`; SQS's `RequestThrottled`).
 * NOTE: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html
 */
const SDK_THROTTLING_ERRORS = new Set(['ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded', 'RequestThrottled'])

/**
 * A read or write the SDK gave up on for throttling, as the DependencyThrottledError the HTTP
 * layer answers `503` with `Retry-After` (any route: a throttled read is as transient as a
 * throttled write); undefined for any other error.
 */
export function throttledBySdk (error: unknown): DependencyThrottledError | undefined {
  const name = (error as { name?: unknown } | null)?.name
  if (typeof name !== 'string' || !SDK_THROTTLING_ERRORS.has(name)) return undefined
  return new DependencyThrottledError(`AWS refused a call for now (${name}) after the SDK's own retries; try again shortly`, {
    dependency: 'aws',
    operation: name,
    reason: name,
    retryAfterSeconds: DEFAULT_TRANSIENT_RETRY.retryAfterSeconds,
    cause: error
  })
}
