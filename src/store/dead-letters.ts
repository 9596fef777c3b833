import {
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type DynamoDBClient
} from '@aws-sdk/client-dynamodb'
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb'
import { TABLE } from '../aws/resources.js'
import { writeIfCondition } from './conditional.js'
import { Keys } from './table.js'
import { decodePageCursor, encodePageCursor } from './cursor.js'

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
  /** `message`: a work-queue message; `stream-batch`: a stream batch that exhausted its retries (cannot be redriven). */
  kind: 'message' | 'stream-batch'
  status: 'open' | 'redriving' | 'redriven'
  redrivenAt?: string
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
  list: (options: { limit: number, cursor?: string }) => Promise<DeadLetterPage>
  /**
   * Claims an open dead letter for a redrive (or one whose earlier redrive never finished,
   * after `staleAfterMs`). Returns false if it is already redriven or being redriven.
   */
  claimForRedrive: (messageId: string, now: Date, staleAfterMs: number) => Promise<boolean>
  markRedriven: (messageId: string, now: Date) => Promise<void>
  /** Gives a claim back after the send failed, so the redrive can be tried again. */
  releaseClaim: (messageId: string) => Promise<void>
}

const LISTING = 'dead-letters'

/** Builds the dead-letter store on a DynamoDB client. */
export function createDeadLetterStore ({ dynamodb, tableName }: { dynamodb: DynamoDBClient, tableName: string }): DeadLetterStore {
  const toDeadLetter = (item: Record<string, unknown>): DeadLetter => {
    const { pk: _pk, sk: _sk, gsi1pk: _gsi1pk, gsi1sk: _gsi1sk, redriveStartedAt: _started, ...deadLetter } = item
    return deadLetter as unknown as DeadLetter
  }
  return {
    recordOnce: async (deadLetter) => writeIfCondition(dynamodb, new PutItemCommand({
      TableName: tableName,
      Item: marshall({ ...Keys.deadLetter(deadLetter.messageId), ...Keys.deadLetterIndex(deadLetter.deadLetteredAt, deadLetter.messageId), ...deadLetter }, { removeUndefinedValues: true }),
      ConditionExpression: 'attribute_not_exists(pk)'
    })),

    async get (messageId) {
      const { Item } = await dynamodb.send(new GetItemCommand({ TableName: tableName, Key: marshall(Keys.deadLetter(messageId)), ConsistentRead: true }))
      return Item === undefined ? undefined : toDeadLetter(unmarshall(Item))
    },

    async list ({ limit, cursor }) {
      const { Items = [], LastEvaluatedKey } = await dynamodb.send(new QueryCommand({
        TableName: tableName,
        IndexName: TABLE.gsi1.name,
        KeyConditionExpression: 'gsi1pk = :listing',
        ExpressionAttributeValues: { ':listing': { S: 'DEADLETTERS' } },
        ScanIndexForward: false,
        Limit: limit,
        ...(cursor !== undefined && { ExclusiveStartKey: decodePageCursor(cursor, LISTING, { gsi1pk: 'DEADLETTERS', pkPrefix: 'DEADLETTER#', sk: 'DEADLETTER' }) })
      }))
      return {
        deadLetters: Items.map((item) => toDeadLetter(unmarshall(item))),
        nextCursor: LastEvaluatedKey === undefined ? null : encodePageCursor(LastEvaluatedKey, LISTING)
      }
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
