import { createHash } from 'node:crypto'
import { promisify } from 'node:util'
import { gunzip, gzip } from 'node:zlib'
import { GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { marshall } from '@aws-sdk/util-dynamodb'
import type { WebhookProvider } from '../domain/webhooks/providers.js'
import type { NormalizedWebhookEvent } from '../domain/webhooks/normalize.js'
import { writeIfCondition } from './conditional.js'
import { Keys, fromItem, toItem } from './table.js'

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

/** Verified webhook events, stored once per (provider, event id). */
export interface WebhookStore {
  /** Stores the event unless one with its id was stored before: says which happened. */
  recordOnce: (event: StoredWebhookEvent) => Promise<'stored' | 'duplicate'>
  get: (provider: string, eventId: string) => Promise<StoredWebhookEvent | undefined>
}

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
        Item: toItem(Keys.webhookEvent(event.provider, event.eventId), { ...event, ...await storedPayload(event.payload) }),
        ConditionExpression: 'attribute_not_exists(pk)'
      }))
      return stored ? 'stored' : 'duplicate'
    },

    async get (provider, eventId) {
      const { Item } = await dynamodb.send(new GetItemCommand({ TableName: tableName, Key: marshall(Keys.webhookEvent(provider, eventId)), ConsistentRead: true }))
      if (Item === undefined) return undefined
      const { payload, payloadEncoding, payloadSha256: _sha256, ...event } = fromItem<Omit<StoredWebhookEvent, 'payload'> & { payload: Uint8Array | string, payloadEncoding?: string, payloadSha256?: string }>(Item)
      return { ...event, payload: await rawPayload(payload, payloadEncoding) }
    }
  }
}
