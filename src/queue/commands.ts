import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs'

/** The commands that travel on the work queue. */
export const CommandType = {
  charge: 'charge',
  applyWebhook: 'apply-webhook'
} as const

/** Charge a pending payment through the provider. */
export interface ChargeCommand {
  type: typeof CommandType.charge
  paymentId: string
}

/** Apply a stored, verified webhook event to its payment. */
export interface ApplyWebhookCommand {
  type: typeof CommandType.applyWebhook
  provider: string
  eventId: string
}

/** Any work-queue command. */
export type WorkCommand = ChargeCommand | ApplyWebhookCommand

/**
 * Sends a command to the work queue. On a FIFO queue the payment (or event) is the message
 * group, so one payment's commands run in order, and the command itself is the deduplication
 * id, so the outbox relay's redeliveries collapse into one message.
 */
export async function sendCommand (sqs: SQSClient, queueUrl: string, command: WorkCommand, correlationId: string = correlationIdOf(command)): Promise<void> {
  const fifo = queueUrl.endsWith('.fifo')
  const identity = command.type === CommandType.charge ? command.paymentId : `${command.provider}#${command.eventId}`
  await sqs.send(new SendMessageCommand({
    QueueUrl: queueUrl,
    MessageBody: JSON.stringify(command),
    // The correlation id travels with the message, so the worker's log lines join the story.
    MessageAttributes: {
      commandType: { DataType: 'String', StringValue: command.type },
      correlationId: { DataType: 'String', StringValue: correlationId }
    },
    ...(fifo && { MessageGroupId: identity, MessageDeduplicationId: `${command.type}#${identity}`.replace(/[^\w#-]/g, '_').slice(0, 128) })
  }))
}

/** What ties a command's log lines to the rest of its story: the payment, or the webhook event. */
export function correlationIdOf (command: WorkCommand): string {
  return command.type === CommandType.charge ? command.paymentId : `${command.provider}:${command.eventId}`
}
