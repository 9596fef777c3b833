import {
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient
} from '@aws-sdk/client-dynamodb'
import { marshall } from '@aws-sdk/util-dynamodb'
import { gunzipSync, gzipSync } from 'node:zlib'
import type { DynamoDBRecord, SQSRecord } from 'aws-lambda'
import { writeIfCondition } from './conditional.js'
import { Keys, Listings, fromItem, toItem } from './table.js'
import { queryListing } from './listing.js'

/**
 * A stream batch Lambda discarded: the range its on-failure record names, and the records of
 * that range read back from the stream when the dead letter was recorded (an SQS destination
 * receives the range only), or why they could not be.
 */
export interface StreamBatch {
  streamArn?: string
  shardId: string
  startSequenceNumber: string
  endSequenceNumber: string
  /** How many records Lambda discarded. */
  batchSize: number
  /** The range's records, as Lambda delivers them: what a redrive runs again. */
  records?: DynamoDBRecord[]
  /** Why the records could not be read back; such a dead letter cannot be redriven. */
  unavailable?: string
}

/** A message that exhausted its receives, kept for a person to look at and redrive. */
export interface DeadLetter {
  messageId: string
  body: string
  attributes: Record<string, string>
  messageAttributes: Record<string, unknown>
  /** The queue it came from, by name. */
  sourceQueue: string
  receiveCount: number
  deadLetteredAt: string
  /** `message`: a work-queue message; `stream-batch`: a stream batch that exhausted its retries (redriven through the stream handlers). */
  kind: 'message' | 'stream-batch'
  status: 'open' | 'redriving' | 'redriven'
  redrivenAt?: string
  /** Why it was dead-lettered, when that is known (a malformed command says what is wrong with it). */
  reason?: string
  /** The payment its command names (directly, or through the stored webhook event), if it exists. */
  paymentId?: string
  /** For a `stream-batch`: the discarded range and its records. */
  streamBatch?: StreamBatch
}

/** An open dead letter for an SQS message, as it was received. */
export function deadLetterOf (record: SQSRecord, details: Pick<DeadLetter, 'sourceQueue' | 'kind' | 'deadLetteredAt' | 'reason' | 'paymentId' | 'streamBatch'>): DeadLetter {
  return {
    messageId: record.messageId,
    body: record.body,
    attributes: { ...record.attributes } as unknown as Record<string, string>,
    messageAttributes: record.messageAttributes,
    receiveCount: Number(record.attributes.ApproximateReceiveCount ?? 0),
    status: 'open',
    ...details
  }
}

/** A page of dead letters, newest first. */
export interface DeadLetterPage {
  deadLetters: DeadLetter[]
  nextCursor: string | null
}

/** Dead letters in the single table. */
export interface DeadLetterStore {
  /** Stores a dead letter unless one with its message id exists; says whether it was new. */
  recordOnce: (deadLetter: DeadLetter) => Promise<boolean>
  get: (messageId: string) => Promise<DeadLetter | undefined>
  /** Every dead letter, or those of one payment, newest first. */
  list: (options: { limit: number, cursor?: string, paymentId?: string }) => Promise<DeadLetterPage>
  /**
   * Claims an open dead letter for a redrive (or one whose earlier redrive never finished,
   * after `staleAfterMs`). Returns false if it is already redriven or being redriven.
   */
  claimForRedrive: (messageId: string, now: Date, staleAfterMs: number) => Promise<boolean>
  markRedriven: (messageId: string, now: Date) => Promise<void>
  /** Gives a claim back after the send failed, so the redrive can be tried again. */
  releaseClaim: (messageId: string) => Promise<void>
}

/** Builds the dead-letter store on a DynamoDB client. */
export function createDeadLetterStore ({ dynamodb, tableName }: { dynamodb: DynamoDBClient, tableName: string }): DeadLetterStore {
  const toDeadLetter = (item: Record<string, AttributeValue>): DeadLetter => {
    // The redrive claim's bookkeeping is the store's own, not part of the record.
    const { redriveStartedAt: _started, streamBatch, ...deadLetter } = fromItem<Omit<DeadLetter, 'streamBatch'> & { redriveStartedAt?: string, streamBatch?: StoredStreamBatch }>(item)
    return streamBatch === undefined ? deadLetter : { ...deadLetter, streamBatch: fromStoredStreamBatch(streamBatch) }
  }
  return {
    recordOnce: async (deadLetter) => writeIfCondition(dynamodb, new PutItemCommand({
      TableName: tableName,
      Item: toItem({
        ...Keys.deadLetter(deadLetter.messageId),
        ...Keys.deadLetterIndex(deadLetter.deadLetteredAt, deadLetter.messageId),
        ...(deadLetter.paymentId !== undefined && Keys.deadLetterByPayment(deadLetter.paymentId, deadLetter.deadLetteredAt, deadLetter.messageId))
      }, deadLetter.streamBatch === undefined ? deadLetter : { ...deadLetter, streamBatch: toStoredStreamBatch(deadLetter.streamBatch) }),
      ConditionExpression: 'attribute_not_exists(pk)'
    })),

    async get (messageId) {
      const { Item } = await dynamodb.send(new GetItemCommand({ TableName: tableName, Key: marshall(Keys.deadLetter(messageId)), ConsistentRead: true }))
      return Item === undefined ? undefined : toDeadLetter(Item)
    },

    async list ({ paymentId, ...page }) {
      const listing = paymentId === undefined ? Listings.deadLetters : Listings.paymentDeadLetters(paymentId)
      const { items, nextCursor } = await queryListing(dynamodb, tableName, listing, page)
      return { deadLetters: items.map(toDeadLetter), nextCursor }
    },

    claimForRedrive: async (messageId, now, staleAfterMs) => writeIfCondition(dynamodb, new UpdateItemCommand({
      TableName: tableName,
      Key: marshall(Keys.deadLetter(messageId)),
      UpdateExpression: 'SET #status = :redriving, redriveStartedAt = :now',
      ConditionExpression: 'attribute_exists(pk) AND (#status = :open OR (#status = :redriving AND redriveStartedAt < :stale))',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: marshall({
        ':redriving': 'redriving',
        ':open': 'open',
        ':now': now.toISOString(),
        ':stale': new Date(now.getTime() - staleAfterMs).toISOString()
      })
    })),

    async markRedriven (messageId, now) {
      await dynamodb.send(new UpdateItemCommand({
        TableName: tableName,
        Key: marshall(Keys.deadLetter(messageId)),
        UpdateExpression: 'SET #status = :redriven, redrivenAt = :now',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: marshall({ ':redriven': 'redriven', ':now': now.toISOString() })
      }))
    },

    async releaseClaim (messageId) {
      await writeIfCondition(dynamodb, new UpdateItemCommand({
        TableName: tableName,
        Key: marshall(Keys.deadLetter(messageId)),
        UpdateExpression: 'SET #status = :open',
        ConditionExpression: '#status = :redriving',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: marshall({ ':open': 'open', ':redriving': 'redriving' })
      }))
    }
  }
}

/** A stream batch as stored: its records as gzip-compressed JSON, so a batch of up to 100 images fits an item (400 KB). */
type StoredStreamBatch = Omit<StreamBatch, 'records'> & { recordsGzip?: Uint8Array }

/** The most compressed record bytes kept in a dead letter: room for the rest of the item under DynamoDB's 400 KB. */
const MAX_KEPT_RECORD_BYTES = 300_000

function toStoredStreamBatch ({ records, ...batch }: StreamBatch): StoredStreamBatch {
  if (records === undefined) return batch
  const recordsGzip = gzipSync(JSON.stringify(records))
  // Never a dead letter that cannot be written: the range is kept, and why its records are not.
  if (recordsGzip.byteLength > MAX_KEPT_RECORD_BYTES) return { ...batch, unavailable: `the records are too large to keep in the dead letter (${recordsGzip.byteLength} bytes compressed, at most ${MAX_KEPT_RECORD_BYTES})` }
  return { ...batch, recordsGzip }
}

function fromStoredStreamBatch ({ recordsGzip, ...batch }: StoredStreamBatch): StreamBatch {
  return recordsGzip === undefined ? batch : { ...batch, records: JSON.parse(gunzipSync(recordsGzip).toString('utf8')) as DynamoDBRecord[] }
}
