import { createHash } from 'node:crypto'
import type { MessageAttributeValue, SendMessageBatchRequestEntry, SQSClient } from '@aws-sdk/client-sqs'
import type { SQSRecord } from 'aws-lambda'
import { isFifoQueue } from '../aws/resources.js'
import { createBatcher } from '../lib/batcher.js'
import { QueueSendError } from '../domain/errors.js'
import type { DeadLetter } from '../store/dead-letters.js'
import { CommandType, correlationIdOf, type WorkCommand } from './commands.js'

/** Sends to the work queue; the one place that knows its FIFO group and deduplication rules. */
export interface WorkQueue {
  /**
   * Sends a command. On a FIFO queue the payment (or event) is the message group, so one
   * payment's commands run in order, and the command itself is the deduplication id, so the
   * outbox relay's redeliveries collapse into one message. A send goes at once; sends made
   * while earlier ones are in flight go together in one SendMessageBatch (ten at most), and
   * each still resolves, or fails, with its own message's outcome.
   */
  send: (command: WorkCommand, correlationId?: string) => Promise<void>
  /**
   * Sends a dead letter's message back as it was received: its body, its attributes and, on a
   * FIFO queue, its message group, with a deduplication id of its own.
   */
  redrive: (deadLetter: Pick<DeadLetter, 'messageId' | 'body' | 'attributes' | 'messageAttributes'>) => Promise<void>
  /**
   * Gives a received message back, to be delivered again in about `delaySeconds`, without
   * spending its receives toward the dead-letter queue. On a standard queue it is sent again as
   * a new message (fresh receive count, fresh retention) with DelaySeconds and a `deferrals`
   * attribute one higher: `resent`, the caller acknowledges the original (sent before the
   * acknowledgement: a crash in between leaves a duplicate, which the idempotent handlers
   * absorb). A FIFO queue has no per-message delay, so the message's own visibility is set
   * (ChangeMessageVisibility, which Lambda honours): `hidden`, the caller fails the record; that
   * spends one receive, so when the next receive would be the one before the redrive, it is
   * sent again instead, with a deduplication id of its own and visible at once (the next
   * deferral hides that one).
   */
  defer: (received: ReceivedMessage, delaySeconds: number) => Promise<Deferred>
}

/** What defer needs of a received message. */
export type ReceivedMessage = Pick<SQSRecord, 'messageId' | 'receiptHandle' | 'body' | 'attributes' | 'messageAttributes'>

/** How a message was deferred: sent again (acknowledge the original) or hidden (fail the record). */
export const Deferred = {
  resent: 'resent',
  hidden: 'hidden'
} as const

/** One way a message was deferred. */
export type Deferred = (typeof Deferred)[keyof typeof Deferred]

/** The longest delay SQS takes on a message (SendMessage DelaySeconds). */
export const MAX_DELAY_SECONDS = 900

/** SendMessageBatch calls in flight at once; sends made meanwhile wait and go together. */
const SEND_CONCURRENCY = 2

/** SendMessageBatch takes ten messages at most. */
const SEND_BATCH_SIZE = 10

/** The message attribute counting a message's deferrals. */
export const DEFERRALS_ATTRIBUTE = 'deferrals'

/** How many times a received message has been deferred already. */
export function deferralsOf (received: Pick<SQSRecord, 'messageAttributes'>): number {
  const value = Number(received.messageAttributes[DEFERRALS_ATTRIBUTE]?.stringValue ?? 0)
  return Number.isSafeInteger(value) && value > 0 ? value : 0
}

/**
 * Builds the work-queue sender; `url` undefined fails each send with a message that says so.
 * `maxReceiveCount` is the queue's redrive setting (FIFO deferrals keep under it). `sqs` gives
 * the client, and the SQS SDK is imported, at the first send: the HTTP path never sends.
 */
export function createWorkQueue ({ sqs, url, maxReceiveCount = 5 }: { sqs: () => Promise<SQSClient>, url: string | undefined, maxReceiveCount?: number }): WorkQueue {
  const queueUrl = (): string => {
    if (url === undefined) throw new Error('the work queue URL is not known: set WORK_QUEUE_URL')
    return url
  }
  const fifo = url !== undefined && isFifoQueue(url)
  const sendBatched = createBatcher<Omit<SendMessageBatchRequestEntry, 'Id'>>({
    maxSize: SEND_BATCH_SIZE,
    maxConcurrent: SEND_CONCURRENCY,
    run: async (messages) => {
      const entries = messages.map((message, index) => ({ ...message, Id: String(index) }))
      const { SendMessageBatchCommand } = await import('@aws-sdk/client-sqs')
      const { Successful = [], Failed = [] } = await (await sqs()).send(new SendMessageBatchCommand({ QueueUrl: queueUrl(), Entries: entries }))
      const sent = new Set(Successful.map((entry) => entry.Id))
      const failed = new Map(Failed.map((entry) => [entry.Id, entry]))
      return entries.map(({ Id }) => {
        if (sent.has(Id)) return undefined
        const failure = failed.get(Id)
        return new QueueSendError(failure === undefined
          ? 'SQS answered neither success nor failure for the message'
          : `SQS refused the message: ${failure.Code ?? 'unknown'} ${failure.Message ?? ''}`.trim())
      })
    }
  })
  return {
    async send (command, correlationId = correlationIdOf(command)) {
      // A payment's charge and refunds share its group, so they run in order; a refund is deduplicated by its own id.
      const group = command.type === CommandType.applyWebhook ? `${command.provider}#${command.eventId}` : command.paymentId
      const identity = command.type === CommandType.refund ? `${command.paymentId}#${command.refundId}` : group
      queueUrl()
      await sendBatched({
        MessageBody: JSON.stringify(command),
        // The correlation id travels with the message, so the worker's log lines join the story.
        MessageAttributes: {
          commandType: { DataType: 'String', StringValue: command.type },
          correlationId: { DataType: 'String', StringValue: correlationId }
        },
        ...(fifo && { MessageGroupId: fifoId(group, /[^\x21-\x7e]/g), MessageDeduplicationId: fifoId(`${command.type}#${identity}`, /[^\w#-]/g) })
      })
    },

    async redrive (deadLetter) {
      const { SendMessageCommand } = await import('@aws-sdk/client-sqs')
      await (await sqs()).send(new SendMessageCommand({
        QueueUrl: queueUrl(),
        MessageBody: deadLetter.body,
        MessageAttributes: toSqsAttributes(deadLetter.messageAttributes),
        ...(fifo && { MessageGroupId: deadLetter.attributes.MessageGroupId ?? 'redrive', MessageDeduplicationId: `redrive-${deadLetter.messageId}`.slice(0, 128) })
      }))
    },

    async defer (received, delaySeconds) {
      const delay = Math.max(0, Math.min(MAX_DELAY_SECONDS, Math.ceil(delaySeconds)))
      const receiveCount = Number(received.attributes.ApproximateReceiveCount)
      if (fifo && receiveCount < maxReceiveCount - 1) {
        const { ChangeMessageVisibilityCommand } = await import('@aws-sdk/client-sqs')
        await (await sqs()).send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl(), ReceiptHandle: received.receiptHandle, VisibilityTimeout: delay }))
        return Deferred.hidden
      }
      const { SendMessageCommand } = await import('@aws-sdk/client-sqs')
      await (await sqs()).send(new SendMessageCommand({
        QueueUrl: queueUrl(),
        MessageBody: received.body,
        MessageAttributes: {
          ...toSqsAttributes(received.messageAttributes),
          [DEFERRALS_ATTRIBUTE]: { DataType: 'Number', StringValue: String(deferralsOf(received) + 1) }
        },
        ...(fifo
          ? { MessageGroupId: received.attributes.MessageGroupId ?? 'deferred', MessageDeduplicationId: `deferred-${received.messageId}`.slice(0, 128) }
          : { DelaySeconds: delay })
      }))
      return Deferred.resent
    }
  }
}

/**
 * A FIFO group or deduplication id (at most 128 characters): the value with the characters
 * SQS refuses replaced, or, if longer, its SHA-256, so two long event ids never collapse into one.
 */
function fifoId (value: string, refused: RegExp): string {
  return value.length <= 128 ? value.replace(refused, '_') : `sha256-${createHash('sha256').update(value).digest('hex')}`
}

/** The message attributes Lambda delivered, in the shape SendMessage takes. */
function toSqsAttributes (attributes: Record<string, unknown>): Record<string, MessageAttributeValue> {
  const result: Record<string, MessageAttributeValue> = {}
  for (const [name, value] of Object.entries(attributes)) {
    const { dataType, stringValue, binaryValue } = value as { dataType?: string, stringValue?: string, binaryValue?: string }
    if (dataType === undefined) continue
    if (stringValue !== undefined) result[name] = { DataType: dataType, StringValue: stringValue }
    else if (binaryValue !== undefined) result[name] = { DataType: dataType, BinaryValue: Buffer.from(binaryValue, 'base64') }
  }
  return result
}
