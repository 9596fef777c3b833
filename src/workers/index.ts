import type { Deps } from '../deps.js'
import { createTableStreamWorker } from './table-stream.js'
import type { WorkerRegistry } from './types.js'
import { createWorkQueueWorker } from './work-queue.js'

/** The workers of this deployment, keyed by the queue and the table they consume. */
export function createWorkers (deps: Deps): WorkerRegistry {
  return {
    queues: {
      [deps.config.queues.work.name]: createWorkQueueWorker(deps, {})
    },
    streams: {
      [deps.config.tableName]: createTableStreamWorker(deps, {})
    }
  }
}
