import { TransactWriteItemsCommand, TransactionCanceledException, type CancellationReason, type DynamoDBClient, type TransactWriteItem } from '@aws-sdk/client-dynamodb'

/** A cancelled transaction: each item's cancellation reason under the name it was written by. */
export interface CancelledTransaction<Name extends string> {
  reasons: Partial<Record<Name, CancellationReason>>
  error: TransactionCanceledException
}

/**
 * Writes TransactItems given by name (an undefined item is left out). Returns undefined when the
 * transaction committed, or, when DynamoDB cancelled it, the reasons by item name, so callers
 * never read a reason by its position. Any other error is thrown.
 */
export async function writeTransaction<Name extends string> (
  dynamodb: DynamoDBClient,
  items: Record<Name, TransactWriteItem | undefined>
): Promise<CancelledTransaction<Name> | undefined> {
  const named = (Object.entries(items) as Array<[Name, TransactWriteItem | undefined]>)
    .filter((entry): entry is [Name, TransactWriteItem] => entry[1] !== undefined)
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
    return { reasons, error }
  }
}

/** Whether any item of a cancelled transaction met another transaction writing it at the same time. */
export function hasTransactionConflict (cancelled: CancelledTransaction<string>): boolean {
  return Object.values<CancellationReason | undefined>(cancelled.reasons).some((reason) => reason?.Code === 'TransactionConflict')
}
