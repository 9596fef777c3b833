import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb'
import type { NotificationConfiguration } from '@aws-sdk/client-s3'
import type { QueueAttributeName } from '@aws-sdk/client-sqs'

/**
 * The single description of paylith's AWS resources. The local bootstrap creates them from
 * here and the deployment stack declares them from here, so local and cloud cannot drift.
 */
export const TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  gsi1: { name: 'GSI1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
  /**
   * Sparse: unsettled payments (pending, processing) by creation day, and the dead letters of
   * each payment; partitions of one never hold the other (table.ts has the keys).
   */
  gsi2: { name: 'GSI2', partitionKey: 'gsi2pk', sortKey: 'gsi2sk' },
  streamViewType: 'NEW_AND_OLD_IMAGES',
  ttlAttribute: 'expiresAt'
} as const

/** Queue settings shared by the bootstrap and the deployment. */
export interface QueueSettings {
  maxReceiveCount: number
  visibilityTimeoutSeconds: number
}

/**
 * How long the dead-letter queue keeps a message: SQS's maximum, 14 days. A message moved there
 * from a standard queue keeps its first enqueue time, and expires by it, so this must be longer
 * than the work queue's retention: the difference is the least time a dead letter is kept.
 * NOTE: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/setting-up-dead-letter-queue-retention.html
 */
export const DEAD_LETTER_RETENTION_SECONDS = 1_209_600

/**
 * How long the work queue keeps a message: 7 days, far beyond its retries (minutes), which
 * leaves every dead letter at least 7 days in the dead-letter queue.
 */
export const WORK_QUEUE_RETENTION_SECONDS = 604_800

/** The CreateTable input for the payments table (on-demand, stream, GSI1). */
export function tableDefinition (tableName: string): CreateTableCommandInput {
  const { partitionKey, sortKey, gsi1, gsi2 } = TABLE
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [partitionKey, sortKey, gsi1.partitionKey, gsi1.sortKey, gsi2.partitionKey, gsi2.sortKey].map((name) => ({ AttributeName: name, AttributeType: 'S' })),
    KeySchema: [
      { AttributeName: partitionKey, KeyType: 'HASH' },
      { AttributeName: sortKey, KeyType: 'RANGE' }
    ],
    GlobalSecondaryIndexes: [gsi1, gsi2].map((index) => ({
      IndexName: index.name,
      KeySchema: [
        { AttributeName: index.partitionKey, KeyType: 'HASH' as const },
        { AttributeName: index.sortKey, KeyType: 'RANGE' as const }
      ],
      Projection: { ProjectionType: 'ALL' as const }
    })),
    StreamSpecification: { StreamEnabled: true, StreamViewType: TABLE.streamViewType }
  }
}

/** Attributes of the dead-letter queue. */
export function deadLetterQueueAttributes (): Partial<Record<QueueAttributeName, string>> {
  return { MessageRetentionPeriod: String(DEAD_LETTER_RETENTION_SECONDS) }
}

/** Attributes of the work queue, with its redrive policy to the dead-letter queue. */
export function workQueueAttributes (settings: QueueSettings, deadLetterQueueArn: string): Partial<Record<QueueAttributeName, string>> {
  return {
    MessageRetentionPeriod: String(WORK_QUEUE_RETENTION_SECONDS),
    VisibilityTimeout: String(settings.visibilityTimeoutSeconds),
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadLetterQueueArn, maxReceiveCount: settings.maxReceiveCount })
  }
}

/** Whether a queue (by name, URL or ARN) is FIFO: its name ends in `.fifo`. */
export function isFifoQueue (queue: string): boolean {
  return queue.endsWith('.fifo')
}

/** A FIFO queue's name ends in `.fifo`, and so must its attributes say. */
export function fifoAttributes (queueName: string): Partial<Record<QueueAttributeName, string>> {
  return isFifoQueue(queueName) ? { FifoQueue: 'true', ContentBasedDeduplication: 'true' } : {}
}

/** A queue's name from its ARN: `work` for `arn:aws:sqs:us-east-1:123456789012:work`. */
export function queueNameOf (arn: string): string {
  return arn.split(':').pop() ?? arn
}

/**
 * The settlement bucket's layout: provider files arrive under `settlements/<provider>/` (an
 * object created there is reconciled), reports are written under `reports/`.
 */
export const SETTLEMENT_BUCKET = {
  filesPrefix: 'settlements/',
  reportsPrefix: 'reports/',
  /** The S3 events that start a reconciliation. */
  events: ['s3:ObjectCreated:*'] as Array<'s3:ObjectCreated:*'>
} as const

/**
 * The settlement queue's maximum receives before its dead-letter queue: a file that keeps
 * failing is kept there (and alarmed on), never lost.
 */
export const SETTLEMENT_MAX_RECEIVE_COUNT = 3

/** Attributes of the settlement queue, with its redrive policy to its own dead-letter queue. */
export function settlementQueueAttributes (visibilityTimeoutSeconds: number, deadLetterQueueArn: string): Partial<Record<QueueAttributeName, string>> {
  return {
    MessageRetentionPeriod: String(WORK_QUEUE_RETENTION_SECONDS),
    VisibilityTimeout: String(visibilityTimeoutSeconds),
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadLetterQueueArn, maxReceiveCount: SETTLEMENT_MAX_RECEIVE_COUNT })
  }
}

/** The bucket's notification: objects created under `settlements/` go to the settlement queue. */
export function settlementNotification (queueArn: string): NotificationConfiguration {
  return {
    QueueConfigurations: [{
      QueueArn: queueArn,
      Events: [...SETTLEMENT_BUCKET.events],
      Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: SETTLEMENT_BUCKET.filesPrefix }] } }
    }]
  }
}
