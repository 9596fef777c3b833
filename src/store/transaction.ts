import { TransactWriteItemsCommand, TransactionCanceledException, type CancellationReason, type DynamoDBClient, type TransactWriteItem } from '@aws-sdk/client-dynamodb'
import { TransientReason, retryTransient, throttledError, type TransientRetry } from './transient.js'

/** A cancelled transaction: each item's cancellation reason under the name it was written by. */
export interface CancelledTransaction<Name extends string> {
  reasons: Partial<Record<Name, CancellationReason>>
  error: TransactionCanceledException
  /**
   * Why DynamoDB could not write it now (throttling, a concurrent transaction) when no item's
   * condition failed; left out when the reasons are an answer about the items.
   */
  transient?: TransientReason
  /** How it was tried (writeTransaction's `retry`), for throwIfThrottled. */
  retry?: TransactionRetry
}

/** How a transaction cancelled for a transient reason is tried again. */
export interface TransactionRetry {
  /** Names the write in the metric and the logs (`payments.create`). */
  operation: string
  policy: TransientRetry
  /** Which transient reasons are tried again (every one unless given); the others are returned at once. */
  retryOn?: readonly TransientReason[]
}

/** The transient cancellation reasons, most telling first: throttling over a conflict. */
const TRANSIENT_ORDER: readonly TransientReason[] = [TransientReason.throttling, TransientReason.provisionedThroughputExceeded, TransientReason.transactionConflict]

/**
 * Writes TransactItems given by name (an undefined item is left out). Returns undefined when the
 * transaction committed, or, when DynamoDB cancelled it, the reasons by item name, so callers
 * never read a reason by its position. Any other error is thrown. With `retry`, a transaction
 * cancelled for a transient reason is sent again as the policy says (a cancelled transaction
 * wrote nothing, and each item keeps its condition, so sending it again is safe); the last
 * cancellation is returned when the policy gives up.
 */
export async function writeTransaction<Name extends string> (
  dynamodb: DynamoDBClient,
  items: Record<Name, TransactWriteItem | undefined>,
  retry?: TransactionRetry
): Promise<CancelledTransaction<Name> | undefined> {
  const named = (Object.entries(items) as Array<[Name, TransactWriteItem | undefined]>)
    .filter((entry): entry is [Name, TransactWriteItem] => entry[1] !== undefined)
  const writeOnce = async (): Promise<CancelledTransaction<Name> | undefined> => {
    try {
      await dynamodb.send(new TransactWriteItemsCommand({ TransactItems: named.map(([, item]) => item) }))
      return undefined
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error
      // DynamoDB lists the reasons in the order of TransactItems; this is the one place that knows.
      const reasons: Partial<Record<Name, CancellationReason>> = {}
      named.forEach(([name], index) => {
        const reason = error.CancellationReasons?.at(index)
        if (reason !== undefined) reasons[name] = reason
      })
      const transient = transientReason(error.CancellationReasons ?? [])
      return { reasons, error, ...(transient !== undefined && { transient }) }
    }
  }
  if (retry === undefined) return writeOnce()
  const retryOn = retry.retryOn ?? TRANSIENT_ORDER
  return retryTransient(retry.operation, retry.policy, async () => {
    const cancelled = await writeOnce()
    const transient = cancelled?.transient
    return { value: cancelled === undefined ? undefined : { ...cancelled, retry }, ...(transient !== undefined && retryOn.includes(transient) && { transient }) }
  })
}

/** The transient reason a transaction was cancelled for: none when any item's condition failed (that is an answer). */
function transientReason (reasons: readonly CancellationReason[]): TransientReason | undefined {
  if (reasons.some((reason) => reason.Code === 'ConditionalCheckFailed')) return undefined
  return TRANSIENT_ORDER.find((code) => reasons.some((reason) => reason.Code === code))
}

/** Whether any item of a cancelled transaction met another transaction writing it at the same time. */
export function hasTransactionConflict (cancelled: CancelledTransaction<string>): boolean {
  return Object.values<CancellationReason | undefined>(cancelled.reasons).some((reason) => reason?.Code === 'TransactionConflict')
}

/**
 * Throws when a transaction was cancelled for a transient reason its retry covers (`retryOn`,
 * every transient reason unless given) and the tries ran out: nothing was written, and the
 * caller answers 503 with Retry-After. `subject` names the write in the message. The retry is
 * the one writeTransaction was given, unless the caller retried the transaction itself.
 * @throws DependencyThrottledError
 */
export function throwIfThrottled (cancelled: CancelledTransaction<string>, subject: string, retry = cancelled.retry): void {
  if (retry === undefined || cancelled.transient === undefined || !(retry.retryOn ?? TRANSIENT_ORDER).includes(cancelled.transient)) return
  throw throttledError({ operation: retry.operation, reason: cancelled.transient, policy: retry.policy, cause: cancelled.error }, subject)
}
