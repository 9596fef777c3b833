import { createHash } from 'node:crypto'
import { SendMessageCommand, type MessageAttributeValue, type SQSClient } from '@aws-sdk/client-sqs'
import { isFifoQueue } from '../aws/resources.js'
import type { DeadLetter } from '../store/dead-letters.js'
import { CommandType, correlationIdOf, type WorkCommand } from './commands.js'

/** Sends to the work queue; the one place that knows its FIFO group and deduplication rules. */
export interface WorkQueue {
  /**
   * Sends a command. On a FIFO queue the payment (or event) is the message group, so one
   * payment's commands run in order, and the command itself is the deduplication id, so the
   * outbox relay's redeliveries collapse into one message.
   */
  send: (command: WorkCommand, correlationId?: string) => Promise<void>
  /**
   * Sends a dead letter's message back as it was received: its body, its attributes and, on a
   * FIFO queue, its message group, with a deduplication id of its own.
   */
  redrive: (deadLetter: Pick<DeadLetter, 'messageId' | 'body' | 'attributes' | 'messageAttributes'>) => Promise<void>
}

/** Builds the work-queue sender; `url` undefined fails each send with a message that says so. */
export function createWorkQueue ({ sqs, url }: { sqs: SQSClient, url: string | undefined }): WorkQueue {
  const queueUrl = (): string => {
    if (url === undefined) throw new Error('the work queue URL is not known: set WORK_QUEUE_URL')
    return url
  }
  const fifo = url !== undefined && isFifoQueue(url)
  return {
    async send (command, correlationId = correlationIdOf(command)) {
      const identity = command.type === CommandType.charge ? command.paymentId : `${command.provider}#${command.eventId}`
      await sqs.send(new SendMessageCommand({
        QueueUrl: queueUrl(),
        MessageBody: JSON.stringify(command),
        // The correlation id travels with the message, so the worker's log lines join the story.
        MessageAttributes: {
          commandType: { DataType: 'String', StringValue: command.type },
          correlationId: { DataType: 'String', StringValue: correlationId }
        },
        ...(fifo && { MessageGroupId: fifoId(identity, /[^\x21-\x7e]/g), MessageDeduplicationId: fifoId(`${command.type}#${identity}`, /[^\w#-]/g) })
      }))
    },

    async redrive (deadLetter) {
      await sqs.send(new SendMessageCommand({
        QueueUrl: queueUrl(),
        MessageBody: deadLetter.body,
        MessageAttributes: toSqsAttributes(deadLetter.messageAttributes),
        ...(fifo && { MessageGroupId: deadLetter.attributes.MessageGroupId ?? 'redrive', MessageDeduplicationId: `redrive-${deadLetter.messageId}`.slice(0, 128) })
      }))
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
