import t from 'tap'
import { createLocalContext } from '../../src/local/lambda-context.js'
import { createLogger } from '../../src/observability/logger.js'
import { createWorkQueueWorker } from '../../src/workers/work-queue.js'
import { sqsEvent } from '../helpers/events.js'

const logger = createLogger({ logLevel: 'silent' })
const context = createLocalContext('paylith-test', 30_000)

t.test('each command goes to the handler for its type, with its payload', async (t) => {
  const received: unknown[] = []
  const worker = createWorkQueueWorker({ logger }, { charge: async (command) => { received.push(command) } })
  const response = await worker(sqsEvent('q', ['{"type":"charge","paymentId":"pay_1"}']), context)
  t.same(response, { batchItemFailures: [] })
  t.same(received, [{ type: 'charge', paymentId: 'pay_1' }])
})

t.test('a batch in which every message fails reports every message', async (t) => {
  const worker = createWorkQueueWorker({ logger }, { charge: async () => { throw new Error('provider down') } })
  const event = sqsEvent('q', ['{"type":"charge"}', '{"type":"charge"}', '{"type":"charge"}'])
  const response = await worker(event, context)
  t.same(response.batchItemFailures.map((f) => f.itemIdentifier), event.Records.map((r) => r.messageId))
})

t.test('a message that is not a known command fails (and so reaches the DLQ after its retries)', async (t) => {
  const worker = createWorkQueueWorker({ logger }, { charge: async () => {} })
  const event = sqsEvent('q', ['not json', '{"no":"type"}', '{"type":"refund"}', '{"type":"charge"}'])
  const response = await worker(event, context)
  t.same(response.batchItemFailures.map((f) => f.itemIdentifier), event.Records.slice(0, 3).map((r) => r.messageId))
})
