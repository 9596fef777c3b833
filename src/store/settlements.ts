import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient
} from '@aws-sdk/client-dynamodb'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Payment } from '../domain/payment.js'
import { emptyCounts, type Classification, type CurrencyTotals } from '../domain/settlements/reconcile.js'
import { fullJitter } from '../lib/retry.js'
import type { IdempotencyRecord, TakenKey } from '../domain/idempotency.js'
import { writeIfCondition } from './conditional.js'
import { InvalidCursorError } from '../domain/errors.js'
import { claimKey, keyTaken } from './idempotency.js'
import { writeTransaction } from './transaction.js'
import { DEFAULT_TRANSIENT_RETRY, THROTTLING_REASONS, type TransientRetry } from './transient.js'
import { queryListing } from './listing.js'
import { Keys, Listings, fromItem, toItem } from './table.js'

/**
 * Where a settlement is: `awaiting_upload` between `POST /v1/settlements` and the file's arrival;
 * `expired` when no file came in time (computed when read, never stored: settlementAsOf).
 */
export type SettlementStatus = 'awaiting_upload' | 'expired' | 'processing' | 'completed' | 'failed'

/** One settlement file's reconciliation, as stored and as `GET /v1/settlements/{id}` shows it. */
export interface Settlement {
  id: string
  provider: string
  fileKey: string
  status: SettlementStatus
  rowsProcessed: number
  counts: Record<Classification, number>
  totals: CurrencyTotals[]
  startedAt: string
  /** When the upload URL of `POST /v1/settlements` expires; the settlement is `expired` an hour later if no file came. */
  uploadExpiresAt?: string
  completedAt?: string
  error?: string
  /** The report of every discrepancy in the settlement bucket (`reports/<id>.csv`), once the file is reconciled. */
  reportKey?: string
  /** Which invocation of the file this is: 0 for the first, one more at each checkpoint (absent on settlements stored before continuations). */
  run?: number
  /** Where the current run starts: after this line (and byte, in a plain file); absent for the first run. */
  checkpoint?: SettlementCheckpoint
  /** The last run whose continuation message was sent. */
  continued?: number
  /** Every row is counted; only the report is left to write (by this run, or by its continuation): `status` is still `processing`. */
  reportPending?: boolean
  /** How many partitions its seen-row marks are spread over, fixed when its file starts (absent: the settlement's own partition, as before marks were sharded). */
  seenShards?: number
}

/**
 * Where a continuation resumes a file: after the record ending on `line` (at `offset` bytes in a
 * plain file), with the header's columns, and the rows, counts and totals as they were there (a
 * run tried again starts from these, not from the progress its failed try saved).
 */
export interface SettlementCheckpoint {
  line: number
  columns: string[]
  offset?: number
  rowsProcessed: number
  counts: Record<Classification, number>
  totals: CurrencyTotals[]
}

/** A row key seen in a file, by its hash, on its first line. */
export interface SeenRow {
  hash: string
  line: number
}

/** A row that is not `matched`: what the file said and what paylith has. */
export interface Discrepancy {
  line: number
  classification: Classification
  reason?: string
  /** The row as the file had it. */
  file: Record<string, string | number>
  /** The payment the row matched, if any. */
  paylith?: { paymentId: string, amount: number, currency: string, status: string }
}

/** The outcome of an idempotent create: written, or the key was taken (what the use case decides on). */
export type SettlementCreateOutcome = { created: true } | ({ created: false } & TakenKey)

/** The settlements in the table: claims on files, their progress, their discrepancies, and the payment lookups. */
export interface SettlementStore {
  /**
   * Writes a new settlement with its Idempotency-Key's record in one transaction: the key must
   * be free (never used, or its record expired), so a retry never makes a second settlement.
   * @throws DependencyThrottledError when DynamoDB kept throttling it (nothing written)
   */
  createIdempotently: (settlement: Settlement, record: IdempotencyRecord) => Promise<SettlementCreateOutcome>
  /**
   * Claims one version of an object for a new settlement; when it was claimed before (a
   * redelivery), answers the settlement that claimed it (undefined if it was never saved).
   */
  claimFile: (file: { bucket: string, key: string, etag: string }, settlementId: string) => Promise<{ claimed: true } | { claimed: false, settlementId: string, settlement: Settlement | undefined }>
  /** Writes a settlement whole (absolute counts: writing it again never double counts). */
  save: (settlement: Settlement) => Promise<void>
  /**
   * Writes a settlement whole only if it is still processing and at run `run` (a delivery of an
   * earlier run, or of this one after it moved on, never overwrites it); false if not written.
   */
  saveIfRun: (settlement: Settlement, run: number) => Promise<boolean>
  /** Records that the continuation of `run` was sent, if the settlement is at that run; false if not. */
  markContinued: (settlementId: string, run: number) => Promise<boolean>
  /** The first line each of these row hashes was seen on in the settlement's file, for those seen (`shards`: the settlement's `seenShards`). */
  seenRows: (settlementId: string, hashes: string[], shards?: number) => Promise<Map<string, number>>
  /** Records row hashes as seen on their lines (kept until `expiresAt`, epoch seconds), in the settlement's `shards` partitions. */
  putSeenRows: (settlementId: string, rows: SeenRow[], expiresAt: number, shards?: number) => Promise<void>
  get: (settlementId: string) => Promise<Settlement | undefined>
  /** Settlements, newest first. */
  list: (page: { limit: number, cursor?: string }) => Promise<{ settlements: Settlement[], nextCursor: string | null }>
  /** A settlement's discrepancies by line; the cursor is the last line of the page before. */
  discrepancies: (settlementId: string, page: { limit: number, cursor?: string }) => Promise<{ discrepancies: Discrepancy[], nextCursor: string | null }>
  /** Writes discrepancies, each keyed by its line, 25 a request, unprocessed ones retried. */
  putDiscrepancies: (settlementId: string, discrepancies: Discrepancy[]) => Promise<void>
  /** The payments of these ids that exist, 100 a request, unprocessed keys retried with backoff. */
  paymentsById: (ids: string[]) => Promise<Map<string, Payment>>
  /** The payment ids these provider references belong to. */
  paymentIdsByRef: (refs: string[]) => Promise<Map<string, string>>
}

const GET_BATCH = 100
const WRITE_BATCH = 25
const MAX_UNPROCESSED_ROUNDS = 8
const backoff = fullJitter(50, 2_000)

/** The settlement store on the single table. */
export function createSettlementStore ({ dynamodb, tableName, transient = DEFAULT_TRANSIENT_RETRY }: { dynamodb: DynamoDBClient, tableName: string, transient?: TransientRetry }): SettlementStore {
  const batchGet = async (keys: Array<Record<string, AttributeValue>>): Promise<Array<Record<string, AttributeValue>>> => {
    const items: Array<Record<string, AttributeValue>> = []
    for (let start = 0; start < keys.length; start += GET_BATCH) {
      let pending = keys.slice(start, start + GET_BATCH)
      for (let round = 1; pending.length > 0; round++) {
        if (round > MAX_UNPROCESSED_ROUNDS) throw new Error(`BatchGetItem left ${pending.length} keys unprocessed after ${MAX_UNPROCESSED_ROUNDS} tries`)
        if (round > 1) await sleep(backoff(round - 1))
        const { Responses, UnprocessedKeys } = await dynamodb.send(new BatchGetItemCommand({ RequestItems: { [tableName]: { Keys: pending } } }))
        items.push(...(Responses?.[tableName] ?? []))
        pending = UnprocessedKeys?.[tableName]?.Keys ?? []
      }
    }
    return items
  }

  const batchWrite = async (items: Array<Record<string, AttributeValue>>): Promise<void> => {
    for (let start = 0; start < items.length; start += WRITE_BATCH) {
      let pending = items.slice(start, start + WRITE_BATCH).map((Item) => ({ PutRequest: { Item } }))
      for (let round = 1; pending.length > 0; round++) {
        if (round > MAX_UNPROCESSED_ROUNDS) throw new Error(`BatchWriteItem left ${pending.length} items unprocessed after ${MAX_UNPROCESSED_ROUNDS} tries`)
        if (round > 1) await sleep(backoff(round - 1))
        const { UnprocessedItems } = await dynamodb.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: pending } }))
        pending = (UnprocessedItems?.[tableName] ?? []) as typeof pending
      }
    }
  }
  const settlementItem = (settlement: Settlement): Record<string, AttributeValue> =>
    toItem({ ...Keys.settlement(settlement.id), ...Keys.settlementIndex(settlement.startedAt, settlement.id) }, settlement)

  return {
    async createIdempotently (settlement, record) {
      const operation = 'settlements.create'
      const cancelled = await writeTransaction(dynamodb, {
        idempotency: claimKey(tableName, record, new Date(record.createdAt)),
        settlement: { Put: { TableName: tableName, Item: settlementItem(settlement), ConditionExpression: 'attribute_not_exists(pk)' } }
      }, { operation, policy: transient, retryOn: THROTTLING_REASONS })
      if (cancelled === undefined) return { created: true }
      return { created: false, ...await keyTaken(dynamodb, tableName, record, cancelled, 'the new settlement') }
    },
    async claimFile ({ bucket, key, etag }, settlementId) {
      const fileKey = Keys.settlementFile(bucket, key, etag)
      const claimed = await writeIfCondition(dynamodb, new PutItemCommand({
        TableName: tableName,
        Item: toItem(fileKey, { settlementId }),
        ConditionExpression: 'attribute_not_exists(pk)'
      }))
      if (claimed) return { claimed: true }
      const { Item } = await dynamodb.send(new GetItemCommand({ TableName: tableName, Key: toItem(fileKey, {}), ConsistentRead: true }))
      const earlier = fromItem<{ settlementId: string }>(Item ?? {}).settlementId
      return { claimed: false, settlementId: earlier, settlement: await this.get(earlier) }
    },
    async save (settlement) {
      await dynamodb.send(new PutItemCommand({ TableName: tableName, Item: settlementItem(settlement) }))
    },
    async saveIfRun (settlement, run) {
      return writeIfCondition(dynamodb, new PutItemCommand({
        TableName: tableName,
        Item: settlementItem(settlement),
        ConditionExpression: '(attribute_not_exists(#run) OR #run = :run) AND #status = :processing',
        ExpressionAttributeNames: { '#run': 'run', '#status': 'status' },
        ExpressionAttributeValues: { ':run': { N: String(run) }, ':processing': { S: 'processing' } }
      }))
    },
    async markContinued (settlementId, run) {
      return writeIfCondition(dynamodb, new UpdateItemCommand({
        TableName: tableName,
        Key: toItem(Keys.settlement(settlementId), {}),
        UpdateExpression: 'SET continued = :run',
        ConditionExpression: '#run = :run',
        ExpressionAttributeNames: { '#run': 'run' },
        ExpressionAttributeValues: { ':run': { N: String(run) } }
      }))
    },
    async seenRows (settlementId, hashes, shards) {
      const items = await batchGet([...new Set(hashes)].map((hash) => toItem(Keys.settlementSeenRow(settlementId, hash, shards), {})))
      return new Map(items.map((item) => [(item.sk?.S ?? '').slice('SEEN#'.length), Number(item.line?.N)]))
    },
    async putSeenRows (settlementId, rows, expiresAt, shards) {
      await batchWrite(rows.map(({ hash, line }) => toItem(Keys.settlementSeenRow(settlementId, hash, shards), { line, expiresAt })))
    },
    async list (page) {
      const { items, nextCursor } = await queryListing(dynamodb, tableName, Listings.settlements, page)
      return { settlements: items.map(settlementOf), nextCursor }
    },
    async discrepancies (settlementId, { limit, cursor }) {
      if (cursor !== undefined && !/^\d{1,10}$/.test(cursor)) throw new InvalidCursorError('the cursor is malformed; start again without one', { listing: `discrepancies:${settlementId}` })
      const { pk } = Keys.settlement(settlementId)
      const { Items = [], LastEvaluatedKey } = await dynamodb.send(new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :discrepancy)',
        ExpressionAttributeValues: { ':pk': { S: pk }, ':discrepancy': { S: 'DISCREPANCY#' } },
        Limit: limit,
        ...(cursor !== undefined && { ExclusiveStartKey: toItem(Keys.settlementDiscrepancy(settlementId, Number(cursor)), {}) })
      }))
      const discrepancies = Items.map((item) => fromItem<Discrepancy>(item))
      return { discrepancies, nextCursor: LastEvaluatedKey === undefined ? null : String(discrepancies.at(-1)?.line ?? '') }
    },
    async get (settlementId) {
      const { Item } = await dynamodb.send(new GetItemCommand({ TableName: tableName, Key: toItem(Keys.settlement(settlementId), {}), ConsistentRead: true }))
      return Item === undefined ? undefined : settlementOf(Item)
    },
    async putDiscrepancies (settlementId, discrepancies) {
      await batchWrite(discrepancies.map((discrepancy) => toItem(Keys.settlementDiscrepancy(settlementId, discrepancy.line), discrepancy)))
    },
    async paymentsById (ids) {
      const unique = [...new Set(ids)]
      const items = await batchGet(unique.map((id) => toItem(Keys.payment(id), {})))
      return new Map(items.map((item) => fromItem<Payment>(item)).map((payment) => [payment.id, payment]))
    },
    async paymentIdsByRef (refs) {
      const unique = [...new Set(refs)]
      const items = await batchGet(unique.map((ref) => toItem(Keys.providerRef(ref), {})))
      const found = new Map<string, string>()
      for (const item of items) {
        const ref = (item.pk?.S ?? '').slice('PROVIDERREF#'.length)
        found.set(ref, fromItem<{ paymentId: string }>(item).paymentId)
      }
      return found
    }
  }
}

/** A stored settlement, with a count for every classification (one stored before a classification existed has none for it). */
function settlementOf (item: Record<string, AttributeValue>): Settlement {
  const settlement = fromItem<Settlement>(item)
  return { ...settlement, counts: { ...emptyCounts(), ...settlement.counts } }
}
