import pino from 'pino'
import { startSqsPoller, type SqsPollerOptions } from '../../src/local/sqs-poller.js'
import type { Built, Teardownable } from './build.js'

/**
 * Delivers the settlement queue to `dispatch` (the service's Lambda handler by default) through
 * the local poller, as Lambda's event source mapping does, until the test ends.
 */
export function pollSettlements (t: Teardownable, built: Pick<Built, 'clients' | 'resources' | 'config' | 'handler'>, options: { dispatch?: SqsPollerOptions['dispatch'], invocationTimeoutMs?: number } = {}): void {
  const poller = startSqsPoller({
    sqs: built.clients.sqs,
    queue: built.resources.settlements.queue,
    region: built.config.aws.region,
    batchSize: 10,
    waitTimeSeconds: 1,
    invocationTimeoutMs: options.invocationTimeoutMs ?? 30_000,
    dispatch: options.dispatch ?? built.handler,
    logger: pino({ level: 'silent' })
  })
  t.teardown(async () => poller.stop())
}
