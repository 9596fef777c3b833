import { GetItemCommand, type AttributeValue, type CancellationReason, type DynamoDBClient, type TransactWriteItem } from '@aws-sdk/client-dynamodb'
import { marshall } from '@aws-sdk/util-dynamodb'
import type { IdempotencyRecord, TakenKey } from '../domain/idempotency.js'
import { unixSeconds } from '../domain/time.js'
import { Keys, fromItem } from './table.js'
import { hasTransactionConflict, throwIfThrottled, type CancelledTransaction } from './transaction.js'

/**
 * The attributes an idempotency record is stored with: what `toItem` makes of it, written out,
 * since every create writes one and `marshall` walks and checks every value (about 10 µs a
 * record, against 1 µs). Typed by the record's own fields, so a field added to the record does
 * not compile here until it is stored too.
 */
export function idempotencyItem (record: IdempotencyRecord): Record<string, AttributeValue> {
  const attributes: Record<keyof IdempotencyRecord, AttributeValue> = {
    scope: { S: record.scope },
    key: { S: record.key },
    fingerprint: { S: record.fingerprint },
    resourceId: { S: record.resourceId },
    statusCode: { N: String(record.statusCode) },
    body: { S: record.body },
    createdAt: { S: record.createdAt },
    expiresAt: { N: String(record.expiresAt) }
  }
  const item: Record<string, AttributeValue> = {}
  for (const [name, value] of Object.entries(Keys.idempotency(record.scope, record.key))) item[name] = { S: value }
  return Object.assign(item, attributes)
}

/**
 * The transaction item that claims an Idempotency-Key with its record: free if never used or if
 * its record has expired by `now` (TTL deletion lags). A failed condition hands back the record
 * that holds the key (`ALL_OLD`), so a replay needs no second read (recordHoldingKey).
 */
export function claimKey (tableName: string, record: IdempotencyRecord, now: Date): TransactWriteItem {
  return {
    Put: {
      TableName: tableName,
      Item: idempotencyItem(record),
      ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now',
      ExpressionAttributeValues: { ':now': { N: String(unixSeconds(now)) } },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD'
    }
  }
}

/** Reads a record (strongly consistent), or undefined if there is none. */
export async function readIdempotencyRecord (dynamodb: DynamoDBClient, tableName: string, scope: string, key: string): Promise<IdempotencyRecord | undefined> {
  const { Item } = await dynamodb.send(new GetItemCommand({
    TableName: tableName,
    Key: marshall(Keys.idempotency(scope, key)),
    ConsistentRead: true
  }))
  return Item === undefined ? undefined : toIdempotencyRecord(Item)
}

/**
 * A stored idempotency item as a record. Records written before 2026-11-29 name their resource
 * `paymentId` (a refund's record its payment's id); they live a day at most (the key's TTL).
 */
export function toIdempotencyRecord (item: Record<string, AttributeValue>): IdempotencyRecord {
  const { paymentId, ...record } = fromItem<Omit<IdempotencyRecord, 'resourceId'> & { resourceId?: string, paymentId?: string }>(item)
  return { ...record, resourceId: record.resourceId ?? paymentId ?? '' }
}

/**
 * The record that holds a key a transaction could not take: the old item its cancellation reason
 * returned (`ReturnValuesOnConditionCheckFailure: 'ALL_OLD'`), else read again.
 */
export async function recordHoldingKey (dynamodb: DynamoDBClient, tableName: string, record: Pick<IdempotencyRecord, 'scope' | 'key'>, reason: CancellationReason): Promise<IdempotencyRecord | undefined> {
  return reason.Item === undefined ? readIdempotencyRecord(dynamodb, tableName, record.scope, record.key) : toIdempotencyRecord(reason.Item)
}

/**
 * Who holds the key a create's transaction could not take (its `idempotency` item claimed with
 * claimKey): a request still in flight (a conflict), or a completed one (its record). Any other
 * cancellation is thrown.
 * @throws DependencyThrottledError when throttling outlasted the transaction's retries
 */
export async function keyTaken (dynamodb: DynamoDBClient, tableName: string, record: Pick<IdempotencyRecord, 'scope' | 'key'>, cancelled: CancelledTransaction<string>, subject: string): Promise<TakenKey> {
  throwIfThrottled(cancelled, subject)
  if (hasTransactionConflict(cancelled)) return { by: 'in-flight', cause: cancelled.error }
  const idempotency = cancelled.reasons.idempotency
  if (idempotency?.Code !== 'ConditionalCheckFailed') throw cancelled.error
  return { by: 'completed', record: await recordHoldingKey(dynamodb, tableName, record, idempotency), cause: cancelled.error }
}
