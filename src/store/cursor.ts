import { createHash } from 'node:crypto'
import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb'
import { InvalidCursorError } from '../domain/errors.js'
import type { Listing } from './table.js'

/**
 * Page cursors are an index query's LastEvaluatedKey as base64url JSON with a checksum bound to
 * the listing (`payments:<customer>`, `dead-letters`, `dead-letters:<payment>`), so a cursor
 * that was altered or belongs to another listing is refused. Forging one gains nothing: it can
 * only start the same listing at another place.
 */
export function encodePageCursor (key: Record<string, AttributeValue>, listing: string): string {
  const payload = Buffer.from(JSON.stringify(unmarshall(key))).toString('base64url')
  return `${payload}.${checksum(payload, listing)}`
}

/**
 * Reads a cursor made by encodePageCursor for the same listing.
 * @throws InvalidCursorError for anything else
 */
export function decodePageCursor (cursor: string, expected: Listing): Record<string, AttributeValue> {
  const listing = expected.name
  const [payload = '', sum, ...rest] = cursor.split('.')
  if (sum === undefined || rest.length > 0 || checksum(payload, listing) !== sum) {
    throw new InvalidCursorError('the cursor was not issued for this listing; start again without one', { listing })
  }
  let key: unknown
  try {
    key = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
  } catch (error) {
    throw new InvalidCursorError('the cursor is malformed; start again without one', { listing, cause: error })
  }
  const { partitionKey, sortKey } = expected.index
  const fields = ['pk', 'sk', partitionKey, sortKey]
  if (typeof key !== 'object' || key === null || Object.keys(key).length !== fields.length ||
    !fields.every((field) => typeof (key as Record<string, unknown>)[field] === 'string')) {
    throw new InvalidCursorError('the cursor is malformed; start again without one', { listing })
  }
  const { pk = '', sk, [partitionKey]: partition, [sortKey]: sortValue = '' } = key as Record<string, string | undefined>
  if (partition !== expected.partition) throw new InvalidCursorError('the cursor belongs to another listing; start again without one', { listing })
  // Checked even though the checksum matched: the checksum is not a secret, and a forged key
  // must be refused here, never reach DynamoDB as an invalid ExclusiveStartKey.
  if (sk !== expected.sk || !pk.startsWith(expected.pkPrefix) || pk.length > 1024 || !/^\d{4}-\d\d-\d\dT[\d:.]+Z#[\w-]{1,200}$/.test(sortValue)) {
    throw new InvalidCursorError('the cursor is malformed; start again without one', { listing })
  }
  return marshall(key)
}

function checksum (payload: string, listing: string): string {
  return createHash('sha256').update(`${listing}\n${payload}`).digest('base64url').slice(0, 16)
}

/** Where a sharded listing goes on in one shard: below `sortKey` (or at it, `inclusive`), or nowhere (`null`: the shard is done). */
export type ShardPosition = { sortKey: string, inclusive: boolean } | null

/** A sort key of a payment listing: `<createdAt>#pay_<ULID>`. */
const PAYMENT_SORT_KEY = /^\d{4}-\d\d-\d\dT[\d:.]+Z#pay_[0-9A-HJKMNP-TV-Z]{26}$/

/**
 * A sharded listing's cursor: where each shard goes on, as base64url JSON with a checksum bound
 * to the listing (`payments`, `payments:status=succeeded`), like encodePageCursor's.
 */
export function encodeShardCursor (positions: readonly ShardPosition[], listing: string): string {
  const payload = Buffer.from(JSON.stringify(positions.map((position) => position === null ? null : [position.sortKey, position.inclusive ? 1 : 0]))).toString('base64url')
  return `${payload}.${checksum(payload, listing)}`
}

/**
 * Reads a cursor made by encodeShardCursor for the same listing over `shards` shards.
 * @throws InvalidCursorError for anything else
 */
export function decodeShardCursor (cursor: string, listing: string, shards: number): ShardPosition[] {
  const [payload = '', sum, ...rest] = cursor.split('.')
  if (sum === undefined || rest.length > 0 || checksum(payload, listing) !== sum) {
    throw new InvalidCursorError('the cursor was not issued for this listing; start again without one', { listing })
  }
  let positions: unknown
  try {
    positions = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
  } catch (error) {
    throw new InvalidCursorError('the cursor is malformed; start again without one', { listing, cause: error })
  }
  const valid = (position: unknown): position is [string, 0 | 1] | null => position === null ||
    (Array.isArray(position) && position.length === 2 && typeof position[0] === 'string' && PAYMENT_SORT_KEY.test(position[0]) && (position[1] === 0 || position[1] === 1))
  if (!Array.isArray(positions) || positions.length !== shards || !positions.every(valid)) {
    throw new InvalidCursorError('the cursor is malformed; start again without one', { listing })
  }
  return positions.map((position: [string, 0 | 1] | null) => position === null ? null : { sortKey: position[0], inclusive: position[1] === 1 })
}
