import { GetItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { marshall } from '@aws-sdk/util-dynamodb'
import { Keys, fromItem, toItem } from './table.js'

/** Who and what a request's Idempotency-Key is about: the caller's key id, the key, the body's fingerprint. */
export interface IdempotencyClaim {
  scope: string
  key: string
  fingerprint: string
}

/** A completed request remembered under its key: enough to replay the original answer. */
export interface IdempotencyRecord extends IdempotencyClaim {
  paymentId: string
  statusCode: number
  /** The original response body, as JSON text. */
  body: string
  createdAt: string
  /** Unix seconds; also the table's TTL attribute. Checked by the code, since TTL deletion lags. */
  expiresAt: number
}

/** The attributes an idempotency record is stored with. */
export function idempotencyItem (record: IdempotencyRecord): Record<string, AttributeValue> {
  return toItem(Keys.idempotency(record.scope, record.key), record)
}

/** Whether a record still counts at `now`. */
export function isLive (record: Pick<IdempotencyRecord, 'expiresAt'>, now: Date): boolean {
  return record.expiresAt * 1000 > now.getTime()
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

/** A stored idempotency item as a record. */
export function toIdempotencyRecord (item: Record<string, AttributeValue>): IdempotencyRecord {
  return fromItem<IdempotencyRecord>(item)
}

/**
 * A bounded, least-recently-used memory of completed records, so a replay on a warm instance
 * costs no round trip. Completed records never change, so serving them from memory is exact
 * until they expire, which is checked on every hit.
 */
export class IdempotencyCache {
  readonly #entries = new Map<string, IdempotencyRecord>()
  readonly #capacity: number

  constructor (capacity = 1_000) {
    this.#capacity = capacity
  }

  get (scope: string, key: string, now: Date): IdempotencyRecord | undefined {
    const id = `${scope}#${key}`
    const record = this.#entries.get(id)
    if (record === undefined) return undefined
    this.#entries.delete(id)
    if (!isLive(record, now)) return undefined
    this.#entries.set(id, record)
    return record
  }

  set (record: IdempotencyRecord): void {
    const id = `${record.scope}#${record.key}`
    this.#entries.delete(id)
    this.#entries.set(id, record)
    if (this.#entries.size > this.#capacity) {
      const oldest = this.#entries.keys().next().value
      if (oldest !== undefined) this.#entries.delete(oldest)
    }
  }
}
