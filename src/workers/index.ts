import { isFifoQueue } from '../aws/resources.js'
import type { Deps } from '../deps.js'
import { createApplyWebhookHandler } from './apply-webhook.js'
import { createChargeHandler } from './charge.js'
import { CommandType } from '../queue/commands.js'
import { createDeadLetterWorker } from './dead-letter-queue.js'
import { createPaymentChangeHandler, createWebhookChangeHandler } from './outbox.js'
import { ItemKind } from '../store/table.js'
import { createSweeper } from './sweeper.js'
import { createTableStreamWorker } from './table-stream.js'
import { createSettlementWorker } from './settlement.js'
import type { WorkerRegistry } from './types.js'
import { createWorkQueueWorker, type CommandHandlers } from './work-queue.js'

/** The workers of this deployment, keyed by the queue and the table they consume. */
export function createWorkers (deps: Deps): WorkerRegistry {
  const { work, deadLetter } = deps.config.queues
  if (work.url === undefined) throw new Error('the work queue URL is not known: set WORK_QUEUE_URL')
  const relay = { workQueue: deps.workQueue, logger: deps.logger }
  return {
    queues: {
      [work.name]: createWorkQueueWorker(deps, {
        [CommandType.charge]: createChargeHandler(deps),
        [CommandType.applyWebhook]: createApplyWebhookHandler(deps)
      } satisfies Required<CommandHandlers>, { concurrency: deps.config.workerConcurrency, fifo: isFifoQueue(work.name) }),
      [deadLetter.name]: createDeadLetterWorker(deps, work.name, deps.config.workerConcurrency),
      // Its dead-letter queue has no worker: a file that failed three times stays there, alarmed on.
      [deps.config.settlements.queueName]: createSettlementWorker({
        files: deps.settlementFiles,
        settlements: deps.settlements,
        newId: deps.settlementIds,
        metrics: deps.metrics,
        logger: deps.logger,
        clock: deps.clock
      })
    },
    streams: {
      [deps.config.tableName]: createTableStreamWorker(deps, {
        [ItemKind.payment]: createPaymentChangeHandler({ ...relay, summaries: deps.summaries }),
        [ItemKind.webhook]: createWebhookChangeHandler(relay)
      }, { concurrency: deps.config.streamConcurrency })
    },
    scheduled: createSweeper({ ...relay, payments: deps.payments, clock: deps.clock, metrics: deps.metrics }, {
      staleAfterMs: deps.config.sweeper.staleAfterSeconds * 1000,
      maxPerRun: deps.config.sweeper.maxPerRun,
      maxResends: deps.config.sweeper.maxResends
    })
  }
}
