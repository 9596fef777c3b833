import { GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { marshall } from '@aws-sdk/util-dynamodb'
import type { WebhookProvider } from '../domain/webhooks/providers.js'
import type { NormalizedWebhookEvent } from '../domain/webhooks/normalize.js'
import { writeIfCondition } from './conditional.js'
import { Keys, fromItem, toItem } from './table.js'

/** A verified webhook as stored: the normalised event, the raw payload for audit, and when. */
export interface StoredWebhookEvent extends NormalizedWebhookEvent {
  provider: WebhookProvider
  /** The raw body, exactly as received and verified. */
  payload: string
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

/** Builds the webhook store on a DynamoDB client. */
export function createWebhookStore ({ dynamodb, tableName }: { dynamodb: DynamoDBClient, tableName: string }): WebhookStore {
  return {
    async recordOnce (event) {
      const stored = await writeIfCondition(dynamodb, new PutItemCommand({
        TableName: tableName,
        Item: toItem(Keys.webhookEvent(event.provider, event.eventId), event),
        ConditionExpression: 'attribute_not_exists(pk)'
      }))
      return stored ? 'stored' : 'duplicate'
    },

    async get (provider, eventId) {
      const { Item } = await dynamodb.send(new GetItemCommand({ TableName: tableName, Key: marshall(Keys.webhookEvent(provider, eventId)), ConsistentRead: true }))
      return Item === undefined ? undefined : fromItem<StoredWebhookEvent>(Item)
    }
  }
}
