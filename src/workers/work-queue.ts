import { BatchProcessor, EventType, SqsFifoPartialProcessorAsync, processPartialResponse } from '@aws-lambda-powertools/batch'
import type { Context, SQSRecord } from 'aws-lambda'
import type { Logger } from 'pino'
import { UnknownCommandError } from '../domain/errors.js'
import { withLogContext } from '../observability/logger.js'
import { MetricName, type Metrics } from '../observability/metrics.js'
import type { SqsWorker } from './types.js'

/** A command on the work queue: `type` names it, the rest is its payload. */
export interface Command {
  type: string
  [key: string]: unknown
}

/** Carries out one command; throwing makes SQS redeliver the message. */
export type CommandHandler = (command: Command, record: SQSRecord, context: Context | undefined) => Promise<void>

/** How the worker runs a batch. */
export interface WorkQueueOptions {
  /** Records of a standard queue in flight at once. */
  concurrency: number
  /** FIFO: one message group's records in order, the rest of a group failed after its first failure. */
  fifo: boolean
}

/**
 * The work-queue worker: each message is a JSON command routed by its `type`. Failed messages
 * are reported as batch item failures (all of them when all fail, never an empty list), so SQS
 * redelivers only those and moves them to the dead-letter queue after `maxReceiveCount`.
 * Standard queues run records with bounded concurrency; FIFO queues use Powertools'
 * SqsFifoPartialProcessorAsync with skipGroupOnError, so other groups go on.
 */
export function createWorkQueueWorker (
  deps: { logger: Logger, metrics?: Metrics },
  commands: Readonly<Record<string, CommandHandler>>,
  options: WorkQueueOptions = { concurrency: 10, fifo: false }
): SqsWorker {
  const limit = createLimiter(options.concurrency)
  const handleRecord = async (record: SQSRecord, context?: Context): Promise<void> => {
    const correlationId = record.messageAttributes.correlationId?.stringValue
    await withLogContext({ messageId: record.messageId, ...(correlationId !== undefined && { correlationId }) }, async () => {
      try {
        const command = parseCommand(record.body)
        const handler = commands[command.type]
        if (handler === undefined) throw new UnknownCommandError(`no handler for command type ${JSON.stringify(command.type)}`)
        await withLogContext(typeof command.paymentId === 'string' ? { paymentId: command.paymentId } : {}, () => handler(command, record, context))
      } catch (error) {
        deps.logger.error({ err: error, receiveCount: record.attributes.ApproximateReceiveCount }, 'work-queue message failed')
        throw error
      }
    })
  }

  return async (event, context) => {
    const response = options.fifo
      ? await processPartialResponse(event, handleRecord, new SqsFifoPartialProcessorAsync(), { context, skipGroupOnError: true, throwOnFullBatchFailure: false })
      : await processPartialResponse(event, (record: SQSRecord, ctx?: Context) => limit(() => handleRecord(record, ctx)), new BatchProcessor(EventType.SQS), { context, throwOnFullBatchFailure: false })
    if (response.batchItemFailures.length > 0) deps.metrics?.count(MetricName.batchItemFailures, { source: 'work-queue' }, response.batchItemFailures.length)
    return response
  }
}

/** Runs at most `concurrency` of the functions given to it at once. */
export function createLimiter (concurrency: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0
  const waiting: Array<() => void> = []
  return async (fn) => {
    // A finishing run hands its slot straight to the next waiter, so the count never overshoots.
    if (active >= concurrency) await new Promise<void>((resolve) => { waiting.push(resolve) })
    else active += 1
    try {
      return await fn()
    } finally {
      const next = waiting.shift()
      if (next === undefined) active -= 1
      else next()
    }
  }
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
