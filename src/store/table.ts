import { createHash } from 'node:crypto'
import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb'
import { TABLE } from '../aws/resources.js'
import type { ShardedListing } from './listing.js'

/**
 * The layout of the single table, and the only module that knows it: every item kind's keys,
 * the GSI listings, and the mapping between stored items and the entities they hold. Every
 * item's `pk` starts with its kind and `#`, which is how the stream worker tells them apart.
 */

const PK = TABLE.partitionKey
const SK = TABLE.sortKey
const GSI1 = TABLE.gsi1
const GSI2 = TABLE.gsi2
const GSI3 = TABLE.gsi3

/** The attributes that make up keys (table and indexes): never part of an entity. */
const KEY_ATTRIBUTES: ReadonlySet<string> = new Set([PK, SK, GSI1.partitionKey, GSI1.sortKey, GSI2.partitionKey, GSI2.sortKey, GSI3.partitionKey, GSI3.sortKey])

/**
 * How many partition keys one day of unsettled payments is spread over. A partition key takes at
 * most 1,000 write units a second, in an index as in the table, and an index that cannot keep up
 * throttles the table's writes. A payment writes its index entry about three times (its create,
 * pending → processing, which changes the projected `version`, and the delete when it settles),
 * each under 1 KB, so one key held about 330 payments a second; 16 hold about 5,300, over 30
 * times the 150 creates a second the load test aims at, while a sweep still reads only 16
 * partitions a day.
 * NOTE: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-sharding.html
 */
export const UNSETTLED_SHARDS = 16

/**
 * How many partition keys the listing of every payment (GSI2, `PAYMENTS#<nn>`) is spread over.
 * Every write of a payment item rewrites its entry there (the index projects the whole item):
 * about four writes a payment (create, processing, the provider reference, the outcome), each
 * about 1 KB. A partition key takes at most 1,000 write units a second, so one key would hold
 * about 250 payments a second, too close to the 150 creates a second the load test aims at;
 * 8 hold about 2,000. A listing page reads every shard (a query each, side by side), so more
 * shards cost every reader a query more: 8 is the balance. No day in the key: a global index
 * has no size limit per partition key (the 10 GB item-collection limit is for local indexes),
 * and a reader would otherwise have to walk back through empty days.
 * NOTE: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-sharding.html
 */
export const PAYMENT_LISTING_SHARDS = 8

/**
 * How many partition keys one settlement's seen-row marks are spread over (by a hash of the row
 * key, so a row's mark is always in the same one). Every readable row writes a mark (under 1 KB:
 * one write unit), and a partition key takes at most 1,000 write units a second, so one key would
 * cap a file at 1,000 rows a second. One file is read by one invocation at a time, four lookup
 * batches of 100 rows in flight, each batch 7-11 requests in a row (three BatchGetItems, four
 * BatchWriteItems of marks, its discrepancies'): at 5-10 ms a request, 3,600-11,000 rows a second.
 * 8 keys could throttle the fastest; 16 take 16,000. Marks are read by their full key
 * (BatchGetItem), never by a query over the shards, so a shard more costs readers nothing.
 * (Discrepancies stay under the settlement's key: one write per row that is not matched.)
 * NOTE: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-sharding.html
 */
export const SETTLEMENT_SEEN_SHARDS = 16

/**
 * How many partition keys one day of pending refunds is spread over in GSI3. A refund writes its
 * entry about twice (its create and the delete when it ends; the sweeper's rare re-sends once
 * more), each under 1 KB, so one key holds about 500 refunds a second and 4 about 2,000, far more
 * than refunds come (far fewer than payments, even with several partial refunds of one); a sweep
 * reads 4 partitions a day.
 * NOTE: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-sharding.html
 */
export const UNSETTLED_REFUND_SHARDS = 4

/** The kinds of item in the table, as their `pk` prefixes. */
export const ItemKind = {
  payment: 'PAYMENT',
  idempotency: 'IDEMPOTENCY',
  webhook: 'WEBHOOK',
  providerRef: 'PROVIDERREF',
  customer: 'CUSTOMER',
  deadLetter: 'DEADLETTER',
  settlement: 'SETTLEMENT',
  settlementFile: 'SETTLEMENTFILE',
  refund: 'REFUND'
} as const

/** One item kind. */
export type ItemKind = (typeof ItemKind)[keyof typeof ItemKind]

const EVENT_SK_PREFIX = 'EVENT#'
const REFUND_SK_PREFIX = 'REFUND#'
const SUMMARY_SK = 'SUMMARY'
const DEAD_LETTER_LISTING = 'DEADLETTERS'
const UNSETTLED_PREFIX = 'UNSETTLED#'
const UNSETTLED_REFUND_PREFIX = 'UNSETTLED_REFUND#'
const PAYMENT_LISTING = 'PAYMENTS'
const SETTLEMENT_LISTING = 'SETTLEMENTS'
const deadLettersOfPayment = (paymentId: string): string => `${DEAD_LETTER_LISTING}#${paymentId}`
const UNAPPLIED_WEBHOOKS = 'UNAPPLIED_WEBHOOKS'
/** Partitions of the unapplied-webhook index: every webhook is written to it, so not one hot key. */
export const UNAPPLIED_WEBHOOK_SHARDS = 4

const key = (pk: string, sk: string) => ({ [PK]: pk, [SK]: sk })
const gsi1 = (pk: string, sk: string) => ({ [GSI1.partitionKey]: pk, [GSI1.sortKey]: sk })
const gsi2 = (pk: string, sk: string) => ({ [GSI2.partitionKey]: pk, [GSI2.sortKey]: sk })
const gsi3 = (pk: string, sk: string) => ({ [GSI3.partitionKey]: pk, [GSI3.sortKey]: sk })
const paymentPk = (paymentId: string): string => `${ItemKind.payment}#${paymentId}`
const customerPk = (customerId: string): string => `${ItemKind.customer}#${customerId}`
const deadLetterPk = (messageId: string): string => `${ItemKind.deadLetter}#${messageId}`

/** Keys of every item kind, and of the index entries some of them carry. */
export const Keys = {
  payment: (paymentId: string) => key(paymentPk(paymentId), ItemKind.payment),
  /** Status history: one item per version, so the sort key orders it and guards duplicates. */
  paymentEvent: (paymentId: string, version: number) => key(paymentPk(paymentId), `${EVENT_SK_PREFIX}${String(version).padStart(6, '0')}`),
  /** GSI1: a customer's payments, by creation time. */
  paymentByCustomer: (customerId: string, createdAt: string, paymentId: string) => gsi1(customerPk(customerId), `${createdAt}#${paymentId}`),
  /** GSI2: every payment, newest first, in its shard (from a hash of its id, so it never moves). */
  paymentListing: (createdAt: string, paymentId: string) => gsi2(paymentListingPartition(shardOf(paymentId, PAYMENT_LISTING_SHARDS)), `${createdAt}#${paymentId}`),
  /** GSI3, only while a payment is unsettled: by the day it was created (`2026-11-27`), in its shard of that day. */
  unsettledPayment: (createdAt: string, paymentId: string) => gsi3(unsettledPartition(createdAt.slice(0, 10), unsettledShard(paymentId)), unsettledSortKey(createdAt, paymentId)),
  /** GSI3, only while a refund is pending: by the day it was created, in its shard of that day (`UNSETTLED_REFUND#2026-11-27#2`). */
  unsettledRefund: (createdAt: string, refundId: string) => gsi3(unsettledRefundPartition(createdAt.slice(0, 10), shardOf(refundId, UNSETTLED_REFUND_SHARDS)), unsettledSortKey(createdAt, refundId)),
  /** A refund, in its payment's partition: a consistent query lists a payment's refunds, oldest first (ids are ULIDs). */
  refund: (paymentId: string, refundId: string) => key(paymentPk(paymentId), `${REFUND_SK_PREFIX}${refundId}`),
  /** Which payment a refund belongs to, so it can be read by its id alone. */
  refundLookup: (refundId: string) => key(`${ItemKind.refund}#${refundId}`, ItemKind.refund),
  idempotency: (scope: string, idempotencyKey: string) => key(`${ItemKind.idempotency}#${scope}#${idempotencyKey}`, ItemKind.idempotency),
  webhookEvent: (provider: string, eventId: string) => key(`${ItemKind.webhook}#${provider}#${eventId}`, ItemKind.webhook),
  /** GSI1, only until a webhook event is applied: by the time it was stored (or last re-sent), over a few partitions. */
  unappliedWebhook: (since: string, provider: string, eventId: string) => gsi1(unappliedWebhookPartition(shardOf(`${provider}#${eventId}`, UNAPPLIED_WEBHOOK_SHARDS)), unappliedWebhookSortKey(since, provider, eventId)),
  /** Which payment a provider reference belongs to. */
  providerRef: (providerRef: string) => key(`${ItemKind.providerRef}#${providerRef}`, ItemKind.providerRef),
  customerSummary: (customerId: string) => key(customerPk(customerId), SUMMARY_SK),
  /** What one payment currently adds to its customer's summary. */
  summaryContribution: (customerId: string, paymentId: string) => key(customerPk(customerId), `CONTRIBUTION#${paymentId}`),
  deadLetter: (messageId: string) => key(deadLetterPk(messageId), ItemKind.deadLetter),
  /** GSI1: every dead letter, by when it was recorded. */
  deadLetterIndex: (at: string, messageId: string) => gsi1(DEAD_LETTER_LISTING, `${at}#${messageId}`),
  /** GSI2, for a dead letter whose command names a payment: that payment's dead letters, by when recorded. */
  deadLetterByPayment: (paymentId: string, at: string, messageId: string) => gsi2(deadLettersOfPayment(paymentId), `${at}#${messageId}`),
  settlement: (settlementId: string) => key(`${ItemKind.settlement}#${settlementId}`, ItemKind.settlement),
  /** GSI1: every settlement, by when it started. */
  settlementIndex: (startedAt: string, settlementId: string) => gsi1(SETTLEMENT_LISTING, `${startedAt}#${settlementId}`),
  /** One row of a settlement that is not `matched`, by its line number (so a second pass writes the same item). */
  settlementDiscrepancy: (settlementId: string, line: number) => key(`${ItemKind.settlement}#${settlementId}`, `DISCREPANCY#${String(line).padStart(10, '0')}`),
  /**
   * A row key a settlement's file has had (by its hash), with the line it was first seen on: how a
   * duplicate row is told across invocations. In one of `shards` partitions of the settlement
   * (`SETTLEMENT#<id>#SEEN#07`, from the hash); without `shards` (a settlement started before the
   * marks were sharded), in the settlement's own partition.
   */
  settlementSeenRow: (settlementId: string, rowHash: string, shards?: number) => key(
    shards === undefined ? `${ItemKind.settlement}#${settlementId}` : `${ItemKind.settlement}#${settlementId}#SEEN#${String(shardOf(rowHash, shards)).padStart(2, '0')}`,
    `SEEN#${rowHash}`
  ),
  /** Which settlement reconciles one version (ETag) of one object: claimed once, so a redelivery finds it. */
  settlementFile: (bucket: string, objectKey: string, etag: string) => key(`${ItemKind.settlementFile}#${bucket}/${objectKey}#${etag}`, ItemKind.settlementFile)
} as const

/** The GSI1 partition of unapplied webhook events of one shard (0 to UNAPPLIED_WEBHOOK_SHARDS - 1). */
export function unappliedWebhookPartition (shard: number): string {
  return `${UNAPPLIED_WEBHOOKS}#${shard}`
}

/** The GSI1 sort key of an unapplied webhook event: ordered by `since`, unique per event. */
export function unappliedWebhookSortKey (since: string, provider: string, eventId: string): string {
  return `${since}#${provider}#${eventId}`
}

/** A stable shard in [0, shards) of a key: the first four bytes of its SHA-256, evenly spread whatever the ids look like. */
function shardOf (text: string, shards: number): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0) % shards
}

/** The GSI2 partition of every payment in one shard (0 to PAYMENT_LISTING_SHARDS - 1): `PAYMENTS#3`. */
export function paymentListingPartition (shard: number): string {
  return `${PAYMENT_LISTING}#${shard}`
}

/** The GSI3 partition of the payments created on `day` (YYYY-MM-DD) in `shard` that are still unsettled: `UNSETTLED#2026-11-27#07`. */
export function unsettledPartition (day: string, shard: number): string {
  return `${UNSETTLED_PREFIX}${day}#${String(shard).padStart(2, '0')}`
}

/** A payment's shard of the unsettled index, 0 to UNSETTLED_SHARDS - 1: from a hash of its id, so it never changes. */
export function unsettledShard (paymentId: string): number {
  return shardOf(paymentId, UNSETTLED_SHARDS)
}

/** Where one partition of unsettled payments is: its index, that index's key attributes and the partition key's value. */
export interface UnsettledPartition {
  index: string
  partitionKey: string
  sortKey: string
  partition: string
}

/**
 * Every partition holding the payments created on `day` that are still unsettled: each GSI3
 * shard, and GSI2's unsharded `UNSETTLED#<day>`, where a payment written before the index was
 * sharded stays until it next moves (its next write puts it in its shard).
 */
export function unsettledPartitions (day: string): UnsettledPartition[] {
  const shards = Array.from({ length: UNSETTLED_SHARDS }, (_, shard): UnsettledPartition => ({ index: GSI3.name, partitionKey: GSI3.partitionKey, sortKey: GSI3.sortKey, partition: unsettledPartition(day, shard) }))
  return [...shards, { index: GSI2.name, partitionKey: GSI2.partitionKey, sortKey: GSI2.sortKey, partition: `${UNSETTLED_PREFIX}${day}` }]
}

/** The GSI3 partition of the refunds created on `day` in `shard` that are still pending: `UNSETTLED_REFUND#2026-11-27#2`. */
function unsettledRefundPartition (day: string, shard: number): string {
  return `${UNSETTLED_REFUND_PREFIX}${day}#${shard}`
}

/** Every GSI3 partition holding the refunds created on `day` that are still pending. */
export function unsettledRefundPartitions (day: string): UnsettledPartition[] {
  return Array.from({ length: UNSETTLED_REFUND_SHARDS }, (_, shard): UnsettledPartition => ({ index: GSI3.name, partitionKey: GSI3.partitionKey, sortKey: GSI3.sortKey, partition: unsettledRefundPartition(day, shard) }))
}

/** The sort key of an unsettled payment or pending refund (in any of its partitions): oldest first, the id breaking ties. */
export function unsettledSortKey (createdAt: string, paymentId: string): string {
  return `${createdAt}#${paymentId}`
}

/**
 * The attributes that put a payment (or a refund) in the unsettled index: removed when it leaves. GSI2's
 * unsettled key of before is replaced by the payment's listing key (paymentListing) instead.
 */
export const UNSETTLED_KEY_ATTRIBUTES = [GSI3.partitionKey, GSI3.sortKey] as const

/** An index a listing reads. */
export type ListingIndex = typeof GSI1 | typeof GSI2

/** A listing on an index: its partition, the name its page cursors are bound to, and the items it holds. */
export interface Listing {
  /** What page cursors are bound to, so a cursor of one listing is refused by another. */
  name: string
  index: ListingIndex
  /** The index's partition key value. */
  partition: string
  /** Every item listed has a `pk` with this prefix and this `sk`. */
  pkPrefix: string
  sk: string
}

/** The listings: GSI1 (a customer's payments, every dead letter, every settlement) and GSI2 (a payment's dead letters). */
export const Listings = {
  /** With `status`, its cursors are its own: a page of the filtered listing does not go on in the other. */
  customerPayments: (customerId: string, status?: string): Listing => ({ name: status === undefined ? `payments:${customerId}` : `payments:${customerId}:status=${status}`, index: GSI1, partition: customerPk(customerId), pkPrefix: paymentPk('pay_'), sk: ItemKind.payment }),
  deadLetters: { name: 'dead-letters', index: GSI1, partition: DEAD_LETTER_LISTING, pkPrefix: deadLetterPk(''), sk: ItemKind.deadLetter } satisfies Listing,
  settlements: { name: 'settlements', index: GSI1, partition: SETTLEMENT_LISTING, pkPrefix: `${ItemKind.settlement}#`, sk: ItemKind.settlement } satisfies Listing,
  paymentDeadLetters: (paymentId: string): Listing => ({ name: `dead-letters:${paymentId}`, index: GSI2, partition: deadLettersOfPayment(paymentId), pkPrefix: deadLetterPk(''), sk: ItemKind.deadLetter })
} as const

/**
 * Every payment, newest first, over the GSI2 shards of the listing (see PAYMENT_LISTING_SHARDS);
 * with `status`, only that status's, by a filter on the same reads (its cursors are its own).
 */
export function allPaymentsListing (status?: string): ShardedListing {
  return {
    name: status === undefined ? 'payments' : `payments:status=${status}`,
    index: GSI2,
    partitions: Array.from({ length: PAYMENT_LISTING_SHARDS }, (_, shard) => paymentListingPartition(shard)),
    ...(status !== undefined && { filter: { attribute: 'status', value: status } })
  }
}

/**
 * An entity as a stored item: its keys, then its attributes (undefined ones left out).
 * NOTE: the marshaller tells a plain object by its `constructor`, so client data such as
 * `metadata: { "constructor": "x" }` is refused unless every object is taken as a map.
 */
export function toItem (keys: Readonly<Record<string, string>>, entity: object): Record<string, AttributeValue> {
  return marshall({ ...keys, ...entity }, { removeUndefinedValues: true, convertClassInstanceToMap: true })
}

/** A stored item as its entity: every key attribute (table and indexes) taken off. */
export function fromItem<T> (item: Record<string, AttributeValue>): T {
  const entity = unmarshall(item)
  for (const name of KEY_ATTRIBUTES) delete entity[name]
  return entity as T
}

/** The kind of item a `pk` belongs to: `PAYMENT` for `PAYMENT#pay_...`. */
export function itemKindOf (pk: string): string {
  return pk.split('#', 1)[0] ?? ''
}

/** The payment id of a payment's partition key (`PAYMENT#pay_…`, its own item's, its refunds', its events'); empty for another kind. */
export function paymentIdOfKey (pk: string): string {
  const prefix = paymentPk('')
  return pk.startsWith(prefix) ? pk.slice(prefix.length) : ''
}

/** Whether a primary key is a payment's own item (not one of its history events). */
export function isPaymentKey (primaryKey: { pk?: string, sk?: string }): boolean {
  return primaryKey.sk === ItemKind.payment && itemKindOf(primaryKey.pk ?? '') === ItemKind.payment
}

/** The sort key prefix of a payment's refunds, for a query of its partition. */
export const REFUND_SORT_KEY_PREFIX = REFUND_SK_PREFIX

/** Whether a primary key is one of a payment's refunds. */
export function isRefundKey (primaryKey: { pk?: string, sk?: string }): boolean {
  return primaryKey.sk?.startsWith(REFUND_SK_PREFIX) === true && itemKindOf(primaryKey.pk ?? '') === ItemKind.payment
}

/** Whether a sort key is one of a payment's history events. */
export function isPaymentEventSortKey (sk: string | undefined): boolean {
  return sk?.startsWith(EVENT_SK_PREFIX) === true
}

/** The primary key of an item as strings, from its key attributes (as a stream record carries them). */
export function primaryKeyOf (keys: Readonly<Record<string, { S?: string } | undefined>> | undefined): { pk?: string, sk?: string } {
  return { pk: keys?.[PK]?.S, sk: keys?.[SK]?.S }
}
