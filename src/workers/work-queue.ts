import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch'
import type { SQSRecord } from 'aws-lambda'
import type { Deps } from '../deps.js'
import { withLogContext } from '../logger.js'
import type { SqsWorker } from './types.js'

/** A command on the work queue: `type` names it, the rest is its payload. */
export interface Command {
  type: string
  [key: string]: unknown
}

/** Carries out one command; throwing makes SQS redeliver the message. */
export type CommandHandler = (command: Command, record: SQSRecord) => Promise<void>

/** A message that is not a command this worker knows; it will reach the dead-letter queue. */
export class UnknownCommandError extends Error {
  constructor (message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'UnknownCommandError'
  }
}

/**
 * The work-queue worker: each message is a JSON command routed by its `type`. Failed
 * messages are reported as batch item failures (all of them when all fail), so SQS
 * redelivers only those and moves them to the dead-letter queue after `maxReceiveCount`.
 */
export function createWorkQueueWorker (deps: Pick<Deps, 'logger'>, commands: Readonly<Record<string, CommandHandler>>): SqsWorker {
  const handleRecord = async (record: SQSRecord): Promise<void> => {
    await withLogContext({ messageId: record.messageId }, async () => {
      try {
        const command = parseCommand(record.body)
        const handler = commands[command.type]
        if (handler === undefined) throw new UnknownCommandError(`no handler for command type ${JSON.stringify(command.type)}`)
        await handler(command, record)
      } catch (error) {
        deps.logger.error({ err: error, receiveCount: record.attributes.ApproximateReceiveCount }, 'work-queue message failed')
        throw error
      }
    })
  }

  return async (event, context) => processPartialResponse(event, handleRecord, new BatchProcessor(EventType.SQS), {
    context,
    throwOnFullBatchFailure: false
  })
}

function parseCommand (body: string): Command {
  let value: unknown
  try {
    value = JSON.parse(body)
  } catch (error) {
    throw new UnknownCommandError('message body is not JSON', { cause: error })
  }
  if (typeof value !== 'object' || value === null || typeof (value as { type?: unknown }).type !== 'string') {
    throw new UnknownCommandError('message body is not a command: it needs a string "type"')
  }
  return value as Command
}
