import { QueryCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { marshall } from '@aws-sdk/util-dynamodb'
import pLimit from 'p-limit'
import { AttentionReason, type PaymentAttention, type PaymentResends } from '../domain/payment.js'
import { TABLE } from '../aws/resources.js'
import { fromItem, unsettledSortKey, type UnsettledPartition } from './table.js'

/**
 * What the sweeper's index (GSI3) holds, for payments still unsettled and refunds still pending
 * alike, and the writes the sweeper makes on such an item: a re-send claimed, a give-up, an
 * attention. Each store adds its own condition (a payment's version and status, a refund's
 * status), so an item that moved since it was read is left alone.
 */

/** An unsettled item (a payment, a pending refund) as the sweeper sees it. */
export interface UnsettledEntry {
  id: string
  createdAt: string
  /** The payment's version (a refund has none: 0). */
  version: number
  /** It already says why it needs a person. */
  flagged: boolean
  /** Why, when it says so. */
  attention?: PaymentAttention
  /** How often the sweeper re-sent its command (0: never). */
  resends: number
  /** The item's table partition key (a refund's is its payment's). */
  pk: string
}

/** Which unsettled items the sweeper's listing leaves out: those it gave up on (attention `resends-exhausted`), and those not due. */
export interface ResendFilter {
  /** Leaves out those whose next re-send is due after this time. */
  dueBy?: string
}

/** How many partitions of the unsettled index one listing queries at once. */
const UNSETTLED_QUERY_CONCURRENCY = 4

/**
 * The unsettled items of `partitions` in [`from`, `to`] (by sort key), oldest first, at most
 * `limit`; with `filter`, only those the sweeper may act on now (filtered by the index query
 * itself: no read per item). It reads every partition (a few at a time, each paged) and keeps
 * the oldest `limit` of them all: the same items one unsharded partition would have given.
 */
export async function queryUnsettled (dynamodb: DynamoDBClient, tableName: string, partitions: UnsettledPartition[], { from, to }: { from: string, to: string }, limit: number, filter?: ResendFilter): Promise<UnsettledEntry[]> {
  if (limit <= 0) return []
  const due = filter?.dueBy === undefined ? '' : '(attribute_not_exists(#resends) OR #resends.#nextAt <= :dueBy) AND '
  const filterNames = filter === undefined
    ? {}
    : { '#attention': 'attention', '#reason': 'reason', ...(filter.dueBy !== undefined && { '#resends': 'resends', '#nextAt': 'nextAt' }) }
  const filterValues = filter === undefined
    ? {}
    : marshall({ ':exhausted': AttentionReason.resendsExhausted, ...(filter.dueBy !== undefined && { ':dueBy': filter.dueBy }) })
  // Each partition's oldest `limit` (paged: a filter applies after the page's Limit).
  const listPartition = async ({ index, partitionKey, sortKey, partition }: UnsettledPartition): Promise<UnsettledEntry[]> => {
    const found: UnsettledEntry[] = []
    let startKey: Record<string, AttributeValue> | undefined
    do {
      const page = await dynamodb.send(new QueryCommand({
        TableName: tableName,
        IndexName: index,
        KeyConditionExpression: '#pk = :partition AND #sk BETWEEN :from AND :to',
        ExpressionAttributeNames: { '#pk': partitionKey, '#sk': sortKey, '#tablePk': TABLE.partitionKey, ...filterNames },
        ExpressionAttributeValues: { ':partition': { S: partition }, ':from': { S: from }, ':to': { S: to }, ...filterValues },
        // The table's keys are in every index: the item's partition key names a refund's payment.
        ProjectionExpression: ['#tablePk', ...TABLE.gsi3.projection].join(', '),
        ...(filter !== undefined && { FilterExpression: `${due}(attribute_not_exists(#attention) OR #attention.#reason <> :exhausted)` }),
        Limit: limit - found.length,
        ExclusiveStartKey: startKey
      }))
      found.push(...(page.Items ?? []).map(unsettledEntry).filter((entry) => entry.id !== ''))
      startKey = page.LastEvaluatedKey
    } while (startKey !== undefined && found.length < limit)
    return found
  }
  const limitConcurrency = pLimit(UNSETTLED_QUERY_CONCURRENCY)
  const listed = await Promise.all(partitions.map(async (partition) => limitConcurrency(async () => listPartition(partition))))
  return oldestFirst(listed.flat()).slice(0, limit)
}

/** The condition an item must still meet for the sweeper to write it: its own expression, names and values. */
export interface UnsettledGuard {
  condition: string
  names: Record<string, string>
  values: Record<string, unknown>
}

/**
 * Records the `resends.count`-th re-send of an unsettled item, if `guard` holds and it was
 * re-sent exactly `resends.count - 1` times: of two overlapping sweeps, one wins.
 */
export function resendUpdate (tableName: string, key: Record<string, string>, resends: PaymentResends, guard: UnsettledGuard): UpdateItemCommand {
  const first = resends.count === 1
  return new UpdateItemCommand({
    TableName: tableName,
    Key: marshall(key),
    UpdateExpression: 'SET #resends = :resends',
    ConditionExpression: `${guard.condition} AND ${first ? 'attribute_not_exists(#resends)' : '#resends.#count = :previous'}`,
    ExpressionAttributeNames: { ...guard.names, '#resends': 'resends', ...(!first && { '#count': 'count' }) },
    ExpressionAttributeValues: marshall({ ...guard.values, ':resends': resends, ...(!first && { ':previous': resends.count - 1 }) })
  })
}

/**
 * Says the sweeper gave up on an unsettled item re-sent `resends` times (replacing any other
 * attention), if `guard` holds, it was not re-sent since, and it does not say so already.
 */
export function resendsExhaustedUpdate (tableName: string, key: Record<string, string>, resends: number, attention: PaymentAttention, guard: UnsettledGuard): UpdateItemCommand {
  return new UpdateItemCommand({
    TableName: tableName,
    Key: marshall(key),
    UpdateExpression: 'SET #attention = :attention',
    ConditionExpression: `${guard.condition} AND ${resends === 0 ? '(attribute_not_exists(#resends) OR #resends.#count = :resends)' : '#resends.#count = :resends'} AND (attribute_not_exists(#attention) OR #attention.#reason <> :reason)`,
    ExpressionAttributeNames: { ...guard.names, '#attention': 'attention', '#resends': 'resends', '#count': 'count', '#reason': 'reason' },
    ExpressionAttributeValues: marshall({ ...guard.values, ':attention': attention, ':resends': resends, ':reason': attention.reason }, { removeUndefinedValues: true })
  })
}

/**
 * Says why an unsettled item needs a person, if `guard` holds. An attention naming a dead letter
 * replaces any other (except the same one); one without is set only where none is.
 */
export function attentionUpdate (tableName: string, key: Record<string, string>, attention: PaymentAttention, guard: UnsettledGuard): UpdateItemCommand {
  const ofDeadLetter = attention.deadLetterId !== undefined
  return new UpdateItemCommand({
    TableName: tableName,
    Key: marshall(key),
    UpdateExpression: 'SET #attention = :attention',
    ConditionExpression: `${guard.condition} AND ${ofDeadLetter ? '(attribute_not_exists(#attention.#deadLetterId) OR #attention.#deadLetterId <> :deadLetterId)' : 'attribute_not_exists(#attention)'}`,
    ExpressionAttributeNames: { ...guard.names, '#attention': 'attention', ...(ofDeadLetter && { '#deadLetterId': 'deadLetterId' }) },
    ExpressionAttributeValues: marshall({ ...guard.values, ':attention': attention, ...(ofDeadLetter && { ':deadLetterId': attention.deadLetterId }) }, { removeUndefinedValues: true })
  })
}

/** The sweeper's view of an item read from the unsettled index. */
function unsettledEntry (item: Record<string, AttributeValue>): UnsettledEntry {
  const pk = item[TABLE.partitionKey]?.S ?? ''
  const { id = '', createdAt = '', version = 0, attention, resends } = fromItem<{ id?: string, createdAt?: string, version?: number, attention?: PaymentAttention, resends?: PaymentResends }>(item)
  return { id, createdAt, version, flagged: attention !== undefined, ...(attention !== undefined && { attention }), resends: resends?.count ?? 0, pk }
}

/** Unsettled entries oldest first (as one partition orders them), each item once. */
function oldestFirst (entries: UnsettledEntry[]): UnsettledEntry[] {
  const byId = new Map(entries.map((entry) => [entry.id, entry]))
  const order = (entry: UnsettledEntry) => unsettledSortKey(entry.createdAt, entry.id)
  return [...byId.values()].sort((a, b) => order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0)
}
