import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  ResourceInUseException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
  type DynamoDBClient
} from '@aws-sdk/client-dynamodb'
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  QueueNameExists,
  SetQueueAttributesCommand,
  type QueueAttributeName,
  type SQSClient
} from '@aws-sdk/client-sqs'
import {
  BucketAlreadyOwnedByYou,
  CreateBucketCommand,
  PutBucketNotificationConfigurationCommand,
  S3Client
} from '@aws-sdk/client-s3'
import { createAwsClients, type AwsClients } from './clients.js'
import { s3ClientOptions } from '../aws/s3.js'
import { excludeConcurrentSqsDeletes } from './sqs-delete-exclusion.js'
import type { Config } from '../config/load.js'
import { TABLE, TABLE_INDEXES, deadLetterQueueAttributes, fifoAttributes, indexDefinition, keyAttributeDefinitions, settlementNotification, settlementQueueAttributes, tableDefinition, workQueueAttributes } from '../aws/resources.js'

/** A queue as the bootstrap leaves it: name, URL and ARN. */
export interface QueueRef {
  name: string
  url: string
  arn: string
}

/** What exists after the bootstrap, with the identifiers the pollers and workers need. */
export interface LocalResources {
  tableName: string
  streamArn: string
  queues: { work: QueueRef; deadLetter: QueueRef }
  /** The settlement bucket, the queue it notifies and that queue's dead-letter queue. */
  settlements: { bucketName: string; queue: QueueRef; deadLetterQueue: QueueRef }
}

const TABLE_ACTIVE_TIMEOUT_MS = 30_000

/**
 * How long an index added to a kept table may take to be backfilled from the items it holds:
 * longer than a new table, since it grows with the data (and DynamoDB Local backfills slowly
 * on a busy machine: past 30 s once during a full test run).
 */
const INDEX_BACKFILL_TIMEOUT_MS = 300_000

/**
 * Creates whatever is missing of the table and the queues, idempotently, from the shared
 * resource definitions. For local runs against an emulator; the deployment stack creates them
 * in AWS.
 */
export async function ensureResources (
  clients: { dynamodb: DynamoDBClient; sqs: SQSClient },
  config: Pick<Config, 'tableName' | 'queues' | 'maxReceiveCount' | 'visibilityTimeoutSeconds'>
): Promise<Omit<LocalResources, 'settlements'>> {
  const [streamArn, queues] = await Promise.all([
    ensureTable(clients.dynamodb, config.tableName),
    ensureQueues(clients.sqs, config)
  ])
  return { tableName: config.tableName, streamArn, queues }
}

/**
 * Creates the settlement bucket, its queue and dead-letter queue, and the bucket's notification
 * to the queue, idempotently. Setting the notification makes S3 send an `s3:TestEvent` message.
 */
export async function ensureSettlementResources (
  clients: { s3: S3Client; sqs: SQSClient },
  config: Pick<Config, 'settlements' | 'visibilityTimeoutSeconds' | 'aws'>
): Promise<LocalResources['settlements']> {
  const { bucketName, queueName, deadLetterQueueName } = config.settlements
  const deadLetterQueue = await ensureQueue(clients.sqs, deadLetterQueueName, deadLetterQueueAttributes())
  const queue = await ensureQueue(clients.sqs, queueName, settlementQueueAttributes(config.visibilityTimeoutSeconds, deadLetterQueue.arn))
  try {
    // NOTE: outside us-east-1 S3 wants the region as the bucket's location constraint.
    await clients.s3.send(new CreateBucketCommand({
      Bucket: bucketName,
      ...(config.aws.region !== 'us-east-1' && { CreateBucketConfiguration: { LocationConstraint: config.aws.region as never } })
    }))
  } catch (error) {
    if (!(error instanceof BucketAlreadyOwnedByYou)) throw error
  }
  await clients.s3.send(new PutBucketNotificationConfigurationCommand({ Bucket: bucketName, NotificationConfiguration: settlementNotification(queue.arn) }))
  return { bucketName, queue, deadLetterQueue }
}

async function ensureTable (dynamodb: DynamoDBClient, tableName: string): Promise<string> {
  try {
    await dynamodb.send(new CreateTableCommand(tableDefinition(tableName)))
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error
  }

  let streamArn = await waitUntilActive(dynamodb, tableName)
  // A table an earlier version made (LOCAL_DATA_DIR keeps it) lacks the indexes added since:
  // added one at a time, as DynamoDB allows, each backfilled from the items it already holds.
  for (;;) {
    const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: tableName }))
    const existing = new Set((Table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName))
    const missing = TABLE_INDEXES.find((index) => !existing.has(index.name))
    if (missing === undefined) break
    await dynamodb.send(new UpdateTableCommand({
      TableName: tableName,
      AttributeDefinitions: keyAttributeDefinitions([missing]),
      GlobalSecondaryIndexUpdates: [{ Create: indexDefinition(missing) }]
    }))
    streamArn = await waitUntilActive(dynamodb, tableName, INDEX_BACKFILL_TIMEOUT_MS)
  }

  const { TimeToLiveDescription } = await dynamodb.send(new DescribeTimeToLiveCommand({ TableName: tableName }))
  if (TimeToLiveDescription?.TimeToLiveStatus !== 'ENABLED') {
    await dynamodb.send(new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: TABLE.ttlAttribute, Enabled: true }
    }))
  }
  return streamArn
}

/** Waits until the table and every index of it are ACTIVE, with a stream; its stream's ARN. */
async function waitUntilActive (dynamodb: DynamoDBClient, tableName: string, timeoutMs = TABLE_ACTIVE_TIMEOUT_MS): Promise<string> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: tableName }))
    const streamArn = Table?.LatestStreamArn
    const indexesActive = (Table?.GlobalSecondaryIndexes ?? []).every((index) => index.IndexStatus === 'ACTIVE')
    if (Table?.TableStatus === 'ACTIVE' && indexesActive && streamArn !== undefined) return streamArn
    if (Date.now() > deadline) throw new Error(`Table ${tableName} did not become ACTIVE with a stream within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

async function ensureQueues (
  sqs: SQSClient,
  config: Pick<Config, 'queues' | 'maxReceiveCount' | 'visibilityTimeoutSeconds'>
): Promise<LocalResources['queues']> {
  const { work, deadLetter } = config.queues
  const deadLetterRef = await ensureQueue(sqs, deadLetter.name, deadLetterQueueAttributes())
  const workRef = await ensureQueue(sqs, work.name, workQueueAttributes(config, deadLetterRef.arn))
  return { work: workRef, deadLetter: deadLetterRef }
}

async function ensureQueue (sqs: SQSClient, name: string, attributes: Partial<Record<QueueAttributeName, string>>): Promise<QueueRef> {
  const Attributes = { ...attributes, ...fifoAttributes(name) }
  let url: string | undefined
  try {
    url = (await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes }))).QueueUrl
  } catch (error) {
    // The queue exists with other attributes (an earlier run's settings): bring it in line.
    if (!(error instanceof QueueNameExists)) throw error
    url = (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl
    const { FifoQueue, ...mutable } = Attributes
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: mutable }))
  }
  if (url === undefined) throw new Error(`SQS returned no URL for queue ${name}`)
  const { Attributes: current } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))
  const arn = current?.QueueArn
  if (arn === undefined) throw new Error(`SQS returned no ARN for queue ${name}`)
  return { name, url, arn }
}

/** The configuration with the queues' URLs as the bootstrap found them. */
function withQueueUrls (config: Config, resources: Pick<LocalResources, 'queues' | 'settlements'>): Config {
  const { work, deadLetter } = resources.queues
  return {
    ...config,
    queues: { work: { name: work.name, url: work.url }, deadLetter: { name: deadLetter.name, url: deadLetter.url } },
    settlements: { ...config.settlements, queueUrl: resources.settlements.queue.url }
  }
}

/** What a local run starts from: the configuration completed with the queue URLs, the clients and the resources. */
export interface Bootstrapped {
  config: Config
  clients: AwsClients
  resources: LocalResources
}

/**
 * Brings the emulator (or any AWS endpoint) to what the configuration describes and completes
 * the configuration with what only exists then (the queue URLs), ready for createService. The
 * SQS client's deletes are kept apart from its sends (excludeConcurrentSqsDeletes: the local
 * emulator can lose a message otherwise).
 */
export async function bootstrapLocal (config: Config, clients: AwsClients = createAwsClients(config)): Promise<Bootstrapped> {
  excludeConcurrentSqsDeletes(clients.sqs)
  const s3 = new S3Client(s3ClientOptions(config))
  try {
    const [resources, settlements] = await Promise.all([
      ensureResources(clients, config),
      ensureSettlementResources({ s3, sqs: clients.sqs }, config)
    ])
    return { config: withQueueUrls(config, { ...resources, settlements }), clients, resources: { ...resources, settlements } }
  } finally {
    s3.destroy()
  }
}
