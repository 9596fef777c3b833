import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent, ScheduledEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda'

/** Handles one SQS batch; reports the message ids that failed. */
export type SqsWorker = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>

/** Handles one DynamoDB Stream batch; reports the sequence number to retry from. */
export type StreamWorker = (event: DynamoDBStreamEvent, context: Context) => Promise<DynamoDBBatchResponse>

/** Handles a scheduled EventBridge event. */
export type ScheduledWorker = (event: ScheduledEvent, context: Context) => Promise<unknown>

/** Which worker handles which event source: queues by name, streams by table name, the schedule. */
export interface WorkerRegistry {
  queues: Readonly<Record<string, SqsWorker>>
  streams: Readonly<Record<string, StreamWorker>>
  scheduled?: ScheduledWorker
}
