import t from 'tap'
import { createLocalContext } from '../../src/local/lambda-context.js'
import { createLogger } from '../../src/observability/logger.js'
import type { DeadLetter } from '../../src/store/dead-letters.js'
import { createWorkQueueWorker } from '../../src/workers/work-queue.js'
import { build } from '../helpers/build.js'
import { sqsEvent } from '../helpers/events.js'

const logger = createLogger({ logLevel: 'silent' })
const context = createLocalContext('paylith-test', 30_000)

/** Worker deps whose dead-letter store keeps what it is given. */
function workerDeps (): { logger: typeof logger, clock: () => Date, deadLetters: { recordOnce: (deadLetter: DeadLetter) => Promise<boolean> }, recorded: DeadLetter[] } {
  const recorded: DeadLetter[] = []
  return { logger, clock: () => new Date('2026-11-27T12:00:00.000Z'), deadLetters: { recordOnce: async (deadLetter) => { recorded.push(deadLetter); return true } }, recorded }
}

t.test('each command goes to the handler for its type, with its payload', async (t) => {
  const received: unknown[] = []
  const worker = createWorkQueueWorker(workerDeps(), { charge: async (command) => { received.push(command) } })
  const response = await worker(sqsEvent('q', ['{"type":"charge","paymentId":"pay_1"}']), context)
  t.same(response, { batchItemFailures: [] })
  t.same(received, [{ type: 'charge', paymentId: 'pay_1' }])
})

t.test('a batch in which every message fails reports every message', async (t) => {
  const worker = createWorkQueueWorker(workerDeps(), { charge: async () => { throw new Error('provider down') } })
  const event = sqsEvent('q', ['{"type":"charge","paymentId":"pay_1"}', '{"type":"charge","paymentId":"pay_2"}', '{"type":"charge","paymentId":"pay_3"}'])
  const response = await worker(event, context)
  t.same(response.batchItemFailures.map((f) => f.itemIdentifier), event.Records.map((r) => r.messageId))
})

t.test('a malformed message is recorded as a dead letter saying why, and acknowledged rather than retried', async (t) => {
  const deps = workerDeps()
  const handled: string[] = []
  const worker = createWorkQueueWorker(deps, { charge: async (command) => { handled.push(command.paymentId) } })
  const bodies = ['not json', '{"no":"type"}', '{"type":"payout"}', '{"type":"charge"}', '{"type":"charge","paymentId":7}', '{"type":"charge","paymentId":"pay_1"}']
  const event = sqsEvent('work', bodies)
  const response = await worker(event, context)
  t.same(response, { batchItemFailures: [] }, 'no retry can mend a malformed message')
  t.same(handled, ['pay_1'])
  t.match(deps.recorded, [
    { body: 'not json', reason: /not JSON/ },
    { body: '{"no":"type"}', reason: /string "type"/ },
    { body: '{"type":"payout"}', reason: /unknown command type "payout"/ },
    { body: '{"type":"charge"}', reason: /^invalid charge command: paymentId: expected required property$/ },
    { body: '{"type":"charge","paymentId":7}', reason: /paymentId: expected string/ }
  ])
  t.same(deps.recorded.map((d) => d.messageId), event.Records.slice(0, 5).map((r) => r.messageId))
  t.match(deps.recorded[0], { kind: 'message', status: 'open', sourceQueue: 'work', receiveCount: 1, deadLetteredAt: '2026-11-27T12:00:00.000Z' })
})

t.test('a valid command with no handler registered fails, so it is retried and reaches the DLQ', async (t) => {
  const deps = workerDeps()
  const worker = createWorkQueueWorker(deps, {})
  const event = sqsEvent('q', ['{"type":"apply-webhook","provider":"stripe","eventId":"evt_1"}'])
  const response = await worker(event, context)
  t.same(response.batchItemFailures.map((f) => f.itemIdentifier), [event.Records[0]?.messageId])
  t.same(deps.recorded, [])
})

t.test('a charge without a payment id ends as a dead-letter record naming the field, and no payment is looked up', async (t) => {
  const { deps, config, workers } = await build(t)
  const lookups: string[] = []
  const get = deps.payments.get
  deps.payments.get = async (paymentId) => { lookups.push(paymentId); return get(paymentId) }
  const worker = workers.queues[config.queues.work.name]
  t.ok(worker)
  const event = sqsEvent(config.queues.work.name, ['{"type":"charge"}'])
  const response = await worker?.(event, context)
  t.same(response, { batchItemFailures: [] })
  t.same(lookups, [], 'no lookup of payment "undefined"')
  t.match(await deps.deadLetters.get(event.Records[0]?.messageId ?? ''), {
    body: '{"type":"charge"}',
    kind: 'message',
    status: 'open',
    sourceQueue: config.queues.work.name,
    reason: /paymentId: expected required property/
  })
})
