import { createHash } from 'node:crypto'
import { promisify } from 'node:util'
import { gunzip, gzip } from 'node:zlib'
import { GetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb'
import type { WebhookProvider } from '../domain/webhooks/providers.js'
import { WebhookEventType, type NormalizedWebhookEvent } from '../domain/webhooks/normalize.js'
import { TABLE } from '../aws/resources.js'
import { writeIfCondition } from './conditional.js'
import { Keys, UNAPPLIED_WEBHOOK_SHARDS, fromItem, toItem, unappliedWebhookPartition, unappliedWebhookSortKey } from './table.js'

const gzipAsync = promisify(gzip)
const gunzipAsync = promisify(gunzip)

/** A verified webhook as stored: the normalised event, the raw payload for audit, and when. */
export interface StoredWebhookEvent extends NormalizedWebhookEvent {
  provider: WebhookProvider
  /** The raw body, exactly as received and verified: bytes, since a body need not be valid UTF-8. */
  payload: Uint8Array
  receivedAt: string
  /** Unix seconds; the table's TTL attribute. */
  expiresAt: number
}

/** A stored webhook event not applied yet, as the unapplied index holds it. */
export interface UnappliedWebhook {
  provider: string
  eventId: string
  paymentId?: string
  /** When it was stored, or last re-sent. */
  since: string
  /** How often its apply-webhook command was re-sent. */
  resends: number
}

/** Verified webhook events, stored once per (provider, event id). */
export interface WebhookStore {
  /** Stores the event unless one with its id was stored before: says which happened. An event to act on is indexed as unapplied. */
  recordOnce: (event: StoredWebhookEvent) => Promise<'stored' | 'duplicate'>
  get: (provider: string, eventId: string) => Promise<StoredWebhookEvent | undefined>
  /** Marks the event applied (it leaves the unapplied index); nothing happens to an event that is not stored. */
  markApplied: (provider: string, eventId: string, at: Date) => Promise<void>
  /** Unapplied events stored (or last re-sent) before `before`, oldest first per shard, at most `limit`, read a page at a time. */
  listUnapplied: (before: string, limit: number) => Promise<UnappliedWebhook[]>
  /** Claims a re-send: moves the event to the back of the index (since `now`) and counts it; false if it was applied or claimed meanwhile. */
  claimResend: (entry: UnappliedWebhook, now: Date) => Promise<boolean>
  /** Takes the event out of the unapplied index without applying it (its re-sends are spent); false if it was applied or claimed meanwhile. */
  giveUp: (entry: UnappliedWebhook, now: Date) => Promise<boolean>
  /**
   * Takes a stored, unapplied event out of the unapplied index because its apply-webhook command
   * dead-lettered naming no payment paylith knows: the dead letter (`deadLetterId`) is then its one
   * record, for a person to redrive or close, instead of the safety net re-sending it into more.
   * False if it was applied, parked before, or is not stored.
   */
  parkDeadLettered: (provider: string, eventId: string, deadLetterId: string, now: Date) => Promise<boolean>
}

/** Items read per Query page of the unapplied index. */
const UNAPPLIED_PAGE_SIZE = 100

/** Payloads above this many bytes are stored gzip-compressed when that makes them smaller. */
const COMPRESS_ABOVE_BYTES = 1024

/** The payload as stored: its bytes (gzip-compressed when large), how they are encoded, and the SHA-256 of the raw body. */
interface StoredPayload {
  payload: Uint8Array
  payloadEncoding?: 'gzip'
  payloadSha256: string
}

/**
 * The payload as a binary attribute, never a string: a body that is not valid UTF-8 would grow
 * up to three times as a string, and an item is at most 400 KB. With the body limit (256 KB)
 * and the bounded event fields, every event fits.
 */
async function storedPayload (payload: Uint8Array): Promise<StoredPayload> {
  const payloadSha256 = createHash('sha256').update(payload).digest('hex')
  if (payload.byteLength > COMPRESS_ABOVE_BYTES) {
    const compressed = await gzipAsync(payload)
    if (compressed.byteLength < payload.byteLength) return { payload: compressed, payloadEncoding: 'gzip', payloadSha256 }
  }
  return { payload, payloadSha256 }
}

/** The raw body back from a stored item (items written before payloads were bytes hold a string). */
async function rawPayload (payload: Uint8Array | string, encoding: string | undefined): Promise<Uint8Array> {
  if (typeof payload === 'string') return Buffer.from(payload, 'utf8')
  return encoding === 'gzip' ? await gunzipAsync(payload) : payload
}

/** Builds the webhook store on a DynamoDB client. */
export function createWebhookStore ({ dynamodb, tableName }: { dynamodb: DynamoDBClient, tableName: string }): WebhookStore {
  return {
    async recordOnce (event) {
      const stored = await writeIfCondition(dynamodb, new PutItemCommand({
        TableName: tableName,
        Item: toItem({
          ...Keys.webhookEvent(event.provider, event.eventId),
          // Ignored events are never relayed, so never applied: they are not waited for.
          ...(event.type !== WebhookEventType.ignored && Keys.unappliedWebhook(event.receivedAt, event.provider, event.eventId))
        }, { ...event, ...await storedPayload(event.payload) }),
        ConditionExpression: 'attribute_not_exists(pk)'
      }))
      return stored ? 'stored' : 'duplicate'
    },

    async get (provider, eventId) {
      const { Item } = await dynamodb.send(new GetItemCommand({ TableName: tableName, Key: marshall(Keys.webhookEvent(provider, eventId)), ConsistentRead: true }))
      if (Item === undefined) return undefined
      const { payload, payloadEncoding, payloadSha256: _sha256, ...event } = fromItem<Omit<StoredWebhookEvent, 'payload'> & { payload: Uint8Array | string, payloadEncoding?: string, payloadSha256?: string }>(Item)
      return { ...event, payload: await rawPayload(payload, payloadEncoding) }
    },

    async markApplied (provider, eventId, at) {
      await writeIfCondition(dynamodb, new UpdateItemCommand({
        TableName: tableName,
        Key: marshall(Keys.webhookEvent(provider, eventId)),
        UpdateExpression: 'SET appliedAt = if_not_exists(appliedAt, :at) REMOVE #gsiPk, #gsiSk',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#gsiPk': TABLE.gsi1.partitionKey, '#gsiSk': TABLE.gsi1.sortKey },
        ExpressionAttributeValues: marshall({ ':at': at.toISOString() })
      }))
    },

    async listUnapplied (before, limit) {
      const found: UnappliedWebhook[] = []
      for (let shard = 0; shard < UNAPPLIED_WEBHOOK_SHARDS && found.length < limit; shard++) {
        let startKey: QueryCommand['input']['ExclusiveStartKey']
        do {
          const { Items = [], LastEvaluatedKey } = await dynamodb.send(new QueryCommand({
            TableName: tableName,
            IndexName: TABLE.gsi1.name,
            KeyConditionExpression: '#gsiPk = :partition AND #gsiSk < :before',
            ProjectionExpression: '#gsiSk, provider, eventId, paymentId, webhookResends',
            ExpressionAttributeNames: { '#gsiPk': TABLE.gsi1.partitionKey, '#gsiSk': TABLE.gsi1.sortKey },
            ExpressionAttributeValues: marshall({ ':partition': unappliedWebhookPartition(shard), ':before': before }),
            Limit: Math.min(UNAPPLIED_PAGE_SIZE, limit - found.length),
            ...(startKey !== undefined && { ExclusiveStartKey: startKey })
          }))
          for (const item of Items) {
            const { gsi1sk, provider, eventId, paymentId, webhookResends } = unmarshall(item) as { gsi1sk: string, provider: string, eventId: string, paymentId?: string, webhookResends?: number }
            found.push({ provider, eventId, since: gsi1sk.slice(0, gsi1sk.length - provider.length - eventId.length - 2), resends: webhookResends ?? 0, ...(paymentId !== undefined && { paymentId }) })
          }
          startKey = LastEvaluatedKey
        } while (startKey !== undefined && found.length < limit)
      }
      return found
    },

    claimResend: async (entry, now) => writeIfCondition(dynamodb, new UpdateItemCommand({
      TableName: tableName,
      Key: marshall(Keys.webhookEvent(entry.provider, entry.eventId)),
      UpdateExpression: 'SET #gsiSk = :next, webhookResends = :resends',
      ConditionExpression: '#gsiSk = :current',
      ExpressionAttributeNames: { '#gsiSk': TABLE.gsi1.sortKey },
      ExpressionAttributeValues: marshall({
        ':current': unappliedWebhookSortKey(entry.since, entry.provider, entry.eventId),
        ':next': unappliedWebhookSortKey(now.toISOString(), entry.provider, entry.eventId),
        ':resends': entry.resends + 1
      })
    })),

    giveUp: async (entry, now) => writeIfCondition(dynamodb, new UpdateItemCommand({
      TableName: tableName,
      Key: marshall(Keys.webhookEvent(entry.provider, entry.eventId)),
      UpdateExpression: 'SET applyGaveUpAt = :now REMOVE #gsiPk, #gsiSk',
      ConditionExpression: '#gsiSk = :current',
      ExpressionAttributeNames: { '#gsiPk': TABLE.gsi1.partitionKey, '#gsiSk': TABLE.gsi1.sortKey },
      ExpressionAttributeValues: marshall({ ':current': unappliedWebhookSortKey(entry.since, entry.provider, entry.eventId), ':now': now.toISOString() })
    })),

    parkDeadLettered: async (provider, eventId, deadLetterId, now) => writeIfCondition(dynamodb, new UpdateItemCommand({
      TableName: tableName,
      Key: marshall(Keys.webhookEvent(provider, eventId)),
      UpdateExpression: 'SET applyGaveUpAt = :now, deadLetterId = :deadLetterId REMOVE #gsiPk, #gsiSk',
      ConditionExpression: 'attribute_exists(#gsiSk) AND attribute_not_exists(appliedAt)',
      ExpressionAttributeNames: { '#gsiPk': TABLE.gsi1.partitionKey, '#gsiSk': TABLE.gsi1.sortKey },
      ExpressionAttributeValues: marshall({ ':now': now.toISOString(), ':deadLetterId': deadLetterId })
    }))
  }
}
