import type { CreateTableCommandInput, GlobalSecondaryIndex } from '@aws-sdk/client-dynamodb'
import type { NotificationConfiguration } from '@aws-sdk/client-s3'
import type { QueueAttributeName } from '@aws-sdk/client-sqs'

/**
 * The single description of paylith's AWS resources. The local bootstrap creates them from
 * here and the deployment stack declares them from here, so local and cloud cannot drift.
 */
export const TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  gsi1: { name: 'GSI1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk', projection: 'ALL' },
  /**
   * Sparse: the dead letters of each payment. Payments written before GSI3 existed may still
   * carry an unsettled key here (`UNSETTLED#<day>`, unsharded) until they next move; the sweeper
   * reads those partitions too (table.ts has the keys).
   */
  gsi2: { name: 'GSI2', partitionKey: 'gsi2pk', sortKey: 'gsi2sk', projection: 'ALL' },
  /**
   * Sparse: unsettled payments (pending, processing) and pending refunds by creation day, each
   * day in shards so no one partition key takes every create and status change of a day. It holds only what the
   * sweeper reads: a status change writes about 100 bytes here, not the whole payment.
   */
  gsi3: { name: 'GSI3', partitionKey: 'gsi3pk', sortKey: 'gsi3sk', projection: ['id', 'createdAt', 'version', 'attention', 'resends'] },
  streamViewType: 'NEW_AND_OLD_IMAGES',
  ttlAttribute: 'expiresAt'
} as const

/** One of the table's global secondary indexes: its name, keys and what it projects (`ALL`, or these attributes besides the keys). */
export type TableIndex = typeof TABLE.gsi1 | typeof TABLE.gsi2 | typeof TABLE.gsi3

/** Every global secondary index of the table, in the order they were added. */
export const TABLE_INDEXES: readonly TableIndex[] = [TABLE.gsi1, TABLE.gsi2, TABLE.gsi3]

/** An index as CreateTable and UpdateTable (Create) take it. */
export function indexDefinition (index: TableIndex): GlobalSecondaryIndex {
  return {
    IndexName: index.name,
    KeySchema: [
      { AttributeName: index.partitionKey, KeyType: 'HASH' },
      { AttributeName: index.sortKey, KeyType: 'RANGE' }
    ],
    Projection: index.projection === 'ALL' ? { ProjectionType: 'ALL' } : { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.projection] }
  }
}

/** The key attributes of the table and of these indexes (all strings), as CreateTable and UpdateTable declare them. */
export function keyAttributeDefinitions (indexes: readonly TableIndex[]): Array<{ AttributeName: string, AttributeType: 'S' }> {
  return [TABLE.partitionKey, TABLE.sortKey, ...indexes.flatMap((index) => [index.partitionKey, index.sortKey])].map((name) => ({ AttributeName: name, AttributeType: 'S' }))
}

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

/** The CreateTable input for the payments table (on-demand, stream, every index). */
export function tableDefinition (tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: keyAttributeDefinitions(TABLE_INDEXES),
    KeySchema: [
      { AttributeName: TABLE.partitionKey, KeyType: 'HASH' },
      { AttributeName: TABLE.sortKey, KeyType: 'RANGE' }
    ],
    GlobalSecondaryIndexes: TABLE_INDEXES.map(indexDefinition),
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

/** Where `POST /v1/settlements` has a file uploaded: `settlements/<provider>/<settlement id>/<file name>`. */
export function uploadKey (provider: string, settlementId: string, fileName: string): string {
  return `${SETTLEMENT_BUCKET.filesPrefix}${provider}/${settlementId}/${fileName}`
}

/** The settlement id an uploaded file's key names (`settlements/<provider>/stl_.../<file>`), if it has one. */
export function settlementIdOfKey (key: string): string | undefined {
  return /^settlements\/[^/]+\/(stl_[0-9A-HJKMNP-TV-Z]{26})\/[^/]+$/.exec(key)?.[1]
}

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
