import type { Context, DynamoDBRecord } from 'aws-lambda'
import { isFifoQueue } from '../aws/resources.js'
import type { Deps } from '../deps.js'
import { onceAsync } from '../lib/once.js'
import { CommandType } from '../queue/commands.js'
import { ItemKind } from '../store/table.js'
import { settlementContinuations } from '../queue/settlement-continuations.js'
import type { StreamWorker, WorkerRegistry } from './types.js'
import type { CommandHandlers } from './work-queue.js'

// The workers' modules (./modules.js) are imported on the first event each worker gets
// (onFirstEvent): an API cold start neither loads nor builds them. The import is literal, so the
// bundle puts them in a chunk of their own; `npm run build` imports every module here to record
// their schemas.

/**
 * A worker built from its modules on the first event it handles, then reused: `make` runs once
 * (concurrent first events share it; a failed load is tried again on the next event).
 */
export function onFirstEvent<E, R> (make: () => Promise<(event: E, context: Context) => Promise<R>>): (event: E, context: Context) => Promise<R> {
  const worker = onceAsync(make)
  return async (event, context) => await (await worker())(event, context)
}

/** The workers of this deployment, keyed by the queue and the table they consume. */
export function createWorkers (deps: Deps): WorkerRegistry {
  const { work, deadLetter } = deps.config.queues
  if (work.url === undefined) throw new Error('the work queue URL is not known: set WORK_QUEUE_URL')
  const relay = { workQueue: deps.workQueue, logger: deps.logger }
  const schedule = {
    staleAfterMs: deps.config.sweeper.staleAfterSeconds * 1000,
    maxPerRun: deps.config.sweeper.maxPerRun,
    maxResends: deps.config.sweeper.maxResends
  }
  return {
    queues: {
      [work.name]: onFirstEvent(async () => {
        const { createWorkQueueWorker, createChargeHandler, createApplyWebhookHandler, createRefundHandler, resilientChargeFor } = await import('./modules.js')
        // One breaker for the process: charges and refunds count against the same provider.
        const charge = resilientChargeFor(deps)
        return createWorkQueueWorker(deps, {
          [CommandType.charge]: createChargeHandler({ ...deps, charge }),
          [CommandType.applyWebhook]: createApplyWebhookHandler(deps),
          [CommandType.refund]: createRefundHandler({ ...deps, charge })
        } satisfies Required<CommandHandlers>, { concurrency: deps.config.workerConcurrency, fifo: isFifoQueue(work.name) })
      }),
      [deadLetter.name]: onFirstEvent(async () => (await import('./modules.js')).createDeadLetterWorker(deps, work.name, deps.config.workerConcurrency)),
      // Its dead-letter queue has no worker: a file that failed three times stays there, alarmed on.
      [deps.config.settlements.queueName]: onFirstEvent(async () => (await import('./modules.js')).createSettlementWorker({
        files: deps.settlementFiles,
        settlements: deps.settlements,
        continueLater: settlementContinuations({ sqs: deps.sqs, url: deps.config.settlements.queueUrl }),
        newId: deps.settlementIds,
        metrics: deps.metrics,
        logger: deps.logger,
        clock: deps.clock
      }, { safetyMarginMs: deps.config.settlements.safetyMarginMs }))
    },
    streams: {
      [deps.config.tableName]: createStreamWorker(deps)
    },
    scheduled: onFirstEvent(async () => {
      const { createSweeper, createRefundSweeper, createWebhookSafetyNet } = await import('./modules.js')
      const sweeper = createSweeper({ ...relay, payments: deps.payments, clock: deps.clock, metrics: deps.metrics }, schedule)
      // The same sweep over refunds still pending, on the same schedule and settings.
      const refundSweeper = createRefundSweeper({ ...relay, refunds: deps.refunds, clock: deps.clock, metrics: deps.metrics }, schedule)
      // Separate from the payment sweep, on the same schedule and settings: stored webhooks never applied.
      const webhookSafetyNet = createWebhookSafetyNet({ ...relay, webhooks: deps.webhooks, clock: deps.clock, metrics: deps.metrics }, schedule)
      // Answers the payment sweep's counts; the refund sweep's and the safety net's are in their log lines and metrics.
      return async (event, context) => {
        const swept = await sweeper(event, context)
        await refundSweeper(event, context)
        await webhookSafetyNet(event, context)
        return swept
      }
    })
  }
}

/** What the table-stream worker needs. */
export type StreamWorkerDeps = Pick<Deps, 'workQueue' | 'summaries' | 'logger' | 'metrics' | 'config'>

/** The table-stream worker with this deployment's change handlers: the stream mapping's, and a stream dead letter's redrive. */
export function createStreamWorker (deps: StreamWorkerDeps): StreamWorker {
  return onFirstEvent(async () => {
    const { createTableStreamWorker, createPaymentChangeHandler, createWebhookChangeHandler } = await import('./modules.js')
    const relay = { workQueue: deps.workQueue, logger: deps.logger }
    return createTableStreamWorker(deps, {
      [ItemKind.payment]: createPaymentChangeHandler({ ...relay, summaries: deps.summaries }),
      [ItemKind.webhook]: createWebhookChangeHandler(relay)
    }, { concurrency: deps.config.streamConcurrency })
  })
}

/** Runs stream records again through the change handlers; says the sequence number of the lowest that failed, if one did. */
export type StreamReplay = (records: DynamoDBRecord[]) => Promise<string | undefined>

/** Replays a discarded stream batch's records (a stream dead letter's redrive) through the table-stream worker, outside any invocation. */
export function createStreamReplay (deps: StreamWorkerDeps): StreamReplay {
  const worker = createStreamWorker(deps)
  return async (records) => {
    const { batchItemFailures } = await worker({ Records: records }, replayContext())
    return batchItemFailures[0]?.itemIdentifier
  }
}

/** The table-stream worker reads nothing of its context; a replay runs within an HTTP request, not an invocation of its own. */
function replayContext (): Context {
  const fail = (): never => { throw new Error('a stream replay has no invocation to end') }
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'paylith-stream-replay',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'paylith-stream-replay',
    memoryLimitInMB: '0',
    awsRequestId: 'stream-replay',
    logGroupName: '',
    logStreamName: '',
    getRemainingTimeInMillis: () => 0,
    done: fail,
    fail,
    succeed: fail
  }
}
