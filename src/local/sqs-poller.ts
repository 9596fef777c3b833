import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type Message,
  type MessageAttributeValue,
  type SQSClient
} from '@aws-sdk/client-sqs'
import type { SQSBatchResponse, SQSEvent, SQSMessageAttributes, SQSRecord, SQSRecordAttributes } from 'aws-lambda'
import type { Logger } from 'pino'
import type { QueueRef } from './bootstrap.js'
import type { Dispatch } from '../lambda/dispatch.js'
import { invokeLocally } from './lambda-context.js'
import { startPolling, type Poller } from './poller.js'

/** What the SQS poller needs. */
export interface SqsPollerOptions {
  sqs: SQSClient
  queue: QueueRef
  region: string
  batchSize: number
  waitTimeSeconds: number
  /** How long one invocation may run; like a Lambda timeout. */
  invocationTimeoutMs: number
  dispatch: Dispatch
  logger: Logger
  /** A visibility timeout to receive with, read at each receive (injected faults); the queue's own if undefined. */
  visibilityTimeoutSeconds?: () => number | undefined
}

/**
 * Emulates a Lambda SQS event source mapping with ReportBatchItemFailures: long-polls the
 * queue, hands each batch to `dispatch` as the event Lambda would send, deletes only the
 * messages that succeeded, and leaves the failures to the visibility timeout and the
 * queue's redrive policy. A dispatch that throws fails the whole batch, as in Lambda.
 */
export function startSqsPoller (options: SqsPollerOptions): Poller {
  const { sqs, queue, logger } = options
  const log = logger.child({ poller: 'sqs', queue: queue.name })
  return startPolling(async (signal) => {
    const visibilityTimeout = options.visibilityTimeoutSeconds?.()
    const { Messages: messages = [] } = await sqs.send(new ReceiveMessageCommand({
      QueueUrl: queue.url,
      MaxNumberOfMessages: options.batchSize,
      WaitTimeSeconds: options.waitTimeSeconds,
      ...(visibilityTimeout !== undefined && { VisibilityTimeout: visibilityTimeout }),
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All']
    }), { abortSignal: signal })
    if (messages.length === 0) return false

    const event: SQSEvent = { Records: messages.map((message) => toSqsRecord(message, queue.arn, options.region)) }
    const failed = await failedMessageIds(event, options, log)
    const done = messages.filter((message) => !failed.has(message.MessageId ?? ''))
    if (done.length > 0) {
      const { Failed = [] } = await sqs.send(new DeleteMessageBatchCommand({
        QueueUrl: queue.url,
        Entries: done.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle }))
      }))
      if (Failed.length > 0) log.warn({ failed: Failed }, 'some handled messages could not be deleted; SQS will deliver them again')
    }
    return true
  }, { idleMs: options.waitTimeSeconds === 0 ? 1_000 : 0, onError: (error) => log.error({ err: error }, 'receiving from SQS failed') })
}

async function failedMessageIds (event: SQSEvent, options: SqsPollerOptions, log: Logger): Promise<Set<string>> {
  try {
    const response = await invokeLocally<SQSBatchResponse>(options.dispatch, event, 'paylith-local', options.invocationTimeoutMs)
    return new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier))
  } catch (error) {
    log.error({ err: error, batchSize: event.Records.length }, 'the invocation failed; the whole batch will be delivered again')
    return new Set(event.Records.map((record) => record.messageId))
  }
}

/** Turns a received SQS message into the record Lambda would deliver for it. */
export function toSqsRecord (message: Message, queueArn: string, region: string): SQSRecord {
  const record: SQSRecord = {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: (message.Attributes ?? {}) as unknown as SQSRecordAttributes,
    messageAttributes: toLambdaMessageAttributes(message.MessageAttributes ?? {}),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region
  }
  if (message.MD5OfMessageAttributes !== undefined) record.md5OfMessageAttributes = message.MD5OfMessageAttributes
  return record
}

function toLambdaMessageAttributes (attributes: Record<string, MessageAttributeValue>): SQSMessageAttributes {
  const base64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64')
  return Object.fromEntries(Object.entries(attributes).map(([name, value]) => [name, {
    dataType: value.DataType ?? 'String',
    ...(value.StringValue !== undefined && { stringValue: value.StringValue }),
    ...(value.BinaryValue !== undefined && { binaryValue: base64(value.BinaryValue) }),
    stringListValues: value.StringListValues ?? [],
    binaryListValues: (value.BinaryListValues ?? []).map(base64)
  }]))
}
