import type { SQSRecord } from 'aws-lambda'
import t from 'tap'
import { createLocalContext } from '../../src/local/lambda-context.js'
import { createLogger } from '../../src/observability/logger.js'
import { createWorkQueueWorker } from '../../src/workers/work-queue.js'
import { sqsRecord } from '../helpers/events.js'

const logger = createLogger({ logLevel: 'silent' })
const context = createLocalContext('paylith-test', 30_000)
const deps = { logger, clock: () => new Date(), deadLetters: { recordOnce: async () => true } }

function fifoRecord (group: string, name: string): SQSRecord {
  const record = sqsRecord('work.fifo', JSON.stringify({ type: 'charge', paymentId: name }))
  return { ...record, messageId: name, attributes: { ...record.attributes, MessageGroupId: group, SequenceNumber: '1', MessageDeduplicationId: name } }
}

t.test('FIFO: after a failure in a group the rest of that group is failed, other groups go on', async (t) => {
  const handled: string[] = []
  const worker = createWorkQueueWorker(deps, {
    charge: async (command) => {
      if (command.paymentId === 'A2') throw new Error('A2 fails')
      handled.push(command.paymentId)
    }
  }, { concurrency: 10, fifo: true })
  const event = { Records: [fifoRecord('A', 'A1'), fifoRecord('A', 'A2'), fifoRecord('B', 'B1'), fifoRecord('A', 'A3')] }
  const response = await worker(event, context)
  t.same(response.batchItemFailures.map((f) => f.itemIdentifier), ['A2', 'A3'])
  t.same(handled, ['A1', 'B1'], 'A3 was not run after A2 failed')
})

t.test('a standard queue runs at most `concurrency` records at once', async (t) => {
  let active = 0
  let peak = 0
  const worker = createWorkQueueWorker(deps, {
    charge: async () => {
      active += 1
      peak = Math.max(peak, active)
      await new Promise((resolve) => setTimeout(resolve, 20))
      active -= 1
    }
  }, { concurrency: 3, fifo: false })
  const event = { Records: Array.from({ length: 10 }, (_, i) => sqsRecord('work', JSON.stringify({ type: 'charge', paymentId: `pay_${i}` }))) }
  const response = await worker(event, context)
  t.same(response.batchItemFailures, [])
  t.equal(peak, 3, 'never more than 3 in flight, and 3 were used')
})
