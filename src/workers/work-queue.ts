import { BatchProcessor, EventType, SqsFifoPartialProcessorAsync, processPartialResponse } from '@aws-lambda-powertools/batch'
import type { Context, SQSRecord } from 'aws-lambda'
import pLimit from 'p-limit'
import type { Logger } from 'pino'
import { MalformedCommandError, UnknownCommandError } from '../domain/errors.js'
import { withLogContext } from '../observability/logger.js'
import { MetricName, type Metrics } from '../observability/metrics.js'
import { CommandType, parseWorkCommand, type CommandOf, type WorkCommand } from '../queue/commands.js'
import { deadLetterOf, type DeadLetterStore } from '../store/dead-letters.js'
import { queueNameOf } from '../aws/resources.js'
import type { SqsWorker } from './types.js'

/** Carries out one command; throwing makes SQS redeliver the message. */
export type CommandHandler<C extends WorkCommand = WorkCommand> = (command: C, record: SQSRecord, context: Context | undefined) => Promise<void>

/** The handler of each command type, typed for its command. */
export type CommandHandlers = { readonly [T in CommandType]?: CommandHandler<CommandOf<T>> }

/** How the worker runs a batch. */
export interface WorkQueueOptions {
  /** Records of a standard queue in flight at once. */
  concurrency: number
  /** FIFO: one message group's records in order, the rest of a group failed after its first failure. */
  fifo: boolean
}

/**
 * The work-queue worker: each message is a JSON command, checked against its type's schema and
 * routed by its `type`. Failed messages are reported as batch item failures (all of them when
 * all fail, never an empty list), so SQS redelivers only those and moves them to the
 * dead-letter queue after `maxReceiveCount`. A malformed message (not JSON, unknown type, a
 * missing or ill-typed field) is not retried, since no retry can mend it: it is recorded as a
 * dead letter with the reason, straight away, and acknowledged.
 * Standard queues run records with bounded concurrency; FIFO queues use Powertools'
 * SqsFifoPartialProcessorAsync with skipGroupOnError, so other groups go on.
 */
export function createWorkQueueWorker (
  deps: { logger: Logger, metrics?: Metrics, deadLetters: Pick<DeadLetterStore, 'recordOnce'>, clock: () => Date },
  commands: CommandHandlers,
  options: WorkQueueOptions = { concurrency: 10, fifo: false }
): SqsWorker {
  const limit = pLimit(options.concurrency)
  const deadLetterMalformed = async (record: SQSRecord, error: MalformedCommandError): Promise<void> => {
    const stored = await deps.deadLetters.recordOnce(deadLetterOf(record, {
      sourceQueue: queueNameOf(record.eventSourceARN),
      kind: 'message',
      deadLetteredAt: deps.clock().toISOString(),
      reason: error.message
    }))
    deps.logger.error({ err: error, receiveCount: record.attributes.ApproximateReceiveCount }, 'work-queue message is malformed: recorded as a dead letter, not retried')
    if (stored) deps.metrics?.count(MetricName.deadLetters, { kind: 'message' })
  }
  const handleRecord = async (record: SQSRecord, context?: Context): Promise<void> => {
    const correlationId = record.messageAttributes.correlationId?.stringValue
    await withLogContext({ messageId: record.messageId, ...(correlationId !== undefined && { correlationId }) }, async () => {
      try {
        let command: WorkCommand
        try {
          command = parseWorkCommand(record.body)
        } catch (error) {
          if (!(error instanceof MalformedCommandError)) throw error
          return await deadLetterMalformed(record, error)
        }
        // The union of handlers cannot be called with the union of commands; the lookup by type pairs them.
        const handler = commands[command.type] as CommandHandler | undefined
        if (handler === undefined) throw new UnknownCommandError(`no handler for command type ${JSON.stringify(command.type)}`)
        await withLogContext(command.type === CommandType.applyWebhook ? {} : { paymentId: command.paymentId }, () => handler(command, record, context))
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
