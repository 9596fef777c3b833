import { QueryCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { decodePageCursor, decodeShardCursor, encodePageCursor, encodeShardCursor, type ShardPosition } from './cursor.js'
import type { Listing } from './table.js'

/** One page of a listing's items, newest first, and the cursor of the next page (null at the end). */
export interface ListingPage {
  items: Array<Record<string, AttributeValue>>
  nextCursor: string | null
}

/**
 * Reads one page of a listing, newest first, from where `cursor` (made by an earlier page of
 * the same listing) left off; with `filter`, only the items whose attribute has that value.
 * @throws InvalidCursorError for a cursor of another listing, or one that was altered
 */
export async function queryListing (dynamodb: DynamoDBClient, tableName: string, listing: Listing, { limit, cursor, filter }: { limit: number, cursor?: string, filter?: { attribute: string, value: string } }): Promise<ListingPage> {
  const { Items = [], LastEvaluatedKey } = await dynamodb.send(new QueryCommand({
    TableName: tableName,
    IndexName: listing.index.name,
    KeyConditionExpression: '#listing = :listing',
    ExpressionAttributeNames: { '#listing': listing.index.partitionKey, ...(filter !== undefined && { '#filter': filter.attribute }) },
    ExpressionAttributeValues: { ':listing': { S: listing.partition }, ...(filter !== undefined && { ':filter': { S: filter.value } }) },
    // Applied after Limit: a filtered page may hold fewer than `limit` items (even none) and go on.
    ...(filter !== undefined && { FilterExpression: '#filter = :filter' }),
    ScanIndexForward: false,
    Limit: limit,
    ...(cursor !== undefined && { ExclusiveStartKey: decodePageCursor(cursor, listing) })
  }))
  return { items: Items, nextCursor: LastEvaluatedKey === undefined ? null : encodePageCursor(LastEvaluatedKey, listing.name) }
}

/** A listing spread over shards (partitions of one index), each ordered by the same sort key. */
export interface ShardedListing {
  /** What page cursors are bound to. */
  name: string
  index: { name: string, partitionKey: string, sortKey: string }
  /** Each shard's partition key value, in a fixed order (the cursor's). */
  partitions: readonly string[]
  /** Only items whose attribute equals this value (a filter: applied after the items are read). */
  filter?: { attribute: string, value: string }
}

/** One page of a sharded listing's items, newest first across every shard, and how many items were read for it. */
export interface ShardedListingPage extends ListingPage {
  /** Items DynamoDB read (before the filter): what the page cost. */
  examined: number
}

/** Items one request may read (before a filter) before it answers with what it has: about 1 MB of payments. */
export const MAX_EXAMINED_PER_PAGE = 1_000

interface ShardState {
  partition: string
  position: ShardPosition | 'top'
  /** Items read and not yet given, newest first. */
  buffer: Array<Record<string, AttributeValue>>
}

/**
 * Reads one page of a sharded listing, newest first across its shards: a k-way merge that reads
 * each shard a little at a time (side by side) and gives an item only once no shard can still
 * hold a newer one, so pages never skip or repeat an item and each page is older than the one
 * before. The cursor keeps where each shard goes on. With a filter a page may hold fewer than
 * `limit` items (even none) when `maxExamined` items were read first; its cursor goes on.
 * @throws InvalidCursorError for a cursor of another listing, or one that was altered
 */
export async function querySharded (
  dynamodb: DynamoDBClient,
  tableName: string,
  listing: ShardedListing,
  { limit, cursor, maxExamined = MAX_EXAMINED_PER_PAGE }: { limit: number, cursor?: string, maxExamined?: number }
): Promise<ShardedListingPage> {
  const { index, filter } = listing
  const shardCount = listing.partitions.length
  const positions = cursor === undefined ? undefined : decodeShardCursor(cursor, listing.name, shardCount)
  const shards: ShardState[] = listing.partitions.map((partition, shard) => ({ partition, position: positions === undefined ? 'top' : positions[shard] ?? null, buffer: [] }))
  // Unfiltered, a shard holds about its share of a page; filtered, most items read are dropped, so read more at once.
  const pageSize = Math.min(maxExamined, filter === undefined ? Math.ceil(limit / shardCount) + 1 : Math.max(limit, 25))
  const sortValue = (item: Record<string, AttributeValue> | undefined): string => item?.[index.sortKey]?.S ?? ''
  let examined = 0

  const read = async (shard: ShardState): Promise<void> => {
    const { position } = shard
    if (position === null) return
    const below = position === 'top' ? '' : ` AND #sk ${position.inclusive ? '<=' : '<'} :position`
    const page = await dynamodb.send(new QueryCommand({
      TableName: tableName,
      IndexName: index.name,
      KeyConditionExpression: `#pk = :partition${below}`,
      ExpressionAttributeNames: { '#pk': index.partitionKey, ...(below !== '' && { '#sk': index.sortKey }), ...(filter !== undefined && { '#filter': filter.attribute }) },
      ExpressionAttributeValues: {
        ':partition': { S: shard.partition },
        ...(position !== 'top' && { ':position': { S: position.sortKey } }),
        ...(filter !== undefined && { ':filter': { S: filter.value } })
      },
      ...(filter !== undefined && { FilterExpression: '#filter = :filter' }),
      ScanIndexForward: false,
      Limit: pageSize
    }))
    examined += page.ScannedCount ?? 0
    shard.buffer.push(...(page.Items ?? []))
    const last = page.LastEvaluatedKey?.[index.sortKey]?.S
    shard.position = last === undefined ? null : { sortKey: last, inclusive: false }
  }

  const items: Array<Record<string, AttributeValue>> = []
  while (items.length < limit) {
    // The newest item read; it may be given once no shard with nothing read can hold a newer one.
    const holding = shards.filter((shard) => shard.buffer.length > 0)
    const newest = holding.reduce<ShardState | undefined>((best, shard) => best === undefined || sortValue(shard.buffer[0]) > sortValue(best.buffer[0]) ? shard : best, undefined)
    const head = sortValue(newest?.buffer[0])
    const unread = shards.filter((shard) => shard.buffer.length === 0 && shard.position !== null &&
      (newest === undefined || shard.position === 'top' || shard.position.sortKey > head))
    if (unread.length === 0) {
      if (newest === undefined) break
      items.push(newest.buffer.shift() as Record<string, AttributeValue>)
      continue
    }
    if (examined >= maxExamined) break
    await Promise.all(unread.map(read))
  }

  const next: ShardPosition[] = shards.map((shard) => {
    const first = shard.buffer[0]
    if (first !== undefined) return { sortKey: sortValue(first), inclusive: true }
    return shard.position === 'top' ? null : shard.position
  })
  // 'top' is left only when nothing was read at all, which needs a page of 0 items: limit is at least 1.
  const done = next.every((position) => position === null) && shards.every((shard) => shard.position !== 'top')
  return { items, nextCursor: done ? null : encodeShardCursor(next, listing.name), examined }
}
