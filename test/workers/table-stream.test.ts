import t from 'tap'
import { createLocalContext } from '../../src/local/lambda-context.js'
import { createLogger } from '../../src/observability/logger.js'
import { createTableStreamWorker, itemKind } from '../../src/workers/table-stream.js'
import { streamEvent, streamRecord } from '../helpers/events.js'

const logger = createLogger({ logLevel: 'silent' })
const context = createLocalContext('paylith-test', 30_000)

t.test('records are handled in stream order by the handler for their item kind', async (t) => {
  const handled: string[] = []
  const worker = createTableStreamWorker({ logger }, {
    PAYMENT: async (record) => { handled.push(`payment:${record.dynamodb?.SequenceNumber}`) },
    WEBHOOK: async (record) => { handled.push(`webhook:${record.dynamodb?.SequenceNumber}`) }
  })
  const event = streamEvent([
    streamRecord('t', { pk: 'PAYMENT#1', sequenceNumber: '1' }),
    streamRecord('t', { pk: 'IDEMPOTENCY#k', sequenceNumber: '2' }),
    streamRecord('t', { pk: 'WEBHOOK#stripe#evt', sequenceNumber: '3' }),
    streamRecord('t', { pk: 'PAYMENT#2', sequenceNumber: '4' })
  ])
  t.same(await worker(event, context), { batchItemFailures: [] })
  t.same(handled, ['payment:1', 'webhook:3', 'payment:4'], 'kinds without a handler are skipped')
})

t.test('the first failure stops the batch and is reported; nothing after it is handled', async (t) => {
  const handled: string[] = []
  const worker = createTableStreamWorker({ logger }, {
    PAYMENT: async (record) => {
      const sequenceNumber = record.dynamodb?.SequenceNumber ?? ''
      if (sequenceNumber === '20') throw new Error('outbox send failed')
      handled.push(sequenceNumber)
    }
  })
  const event = streamEvent(['10', '20', '30'].map((sequenceNumber, i) => streamRecord('t', { pk: `PAYMENT#${i}`, sequenceNumber })))
  t.same(await worker(event, context), { batchItemFailures: [{ itemIdentifier: '20' }] })
  t.same(handled, ['10'])
})

t.test('a batch whose every record fails reports the first one, never an empty list', async (t) => {
  const worker = createTableStreamWorker({ logger }, { PAYMENT: async () => { throw new Error('down') } })
  const event = streamEvent([streamRecord('t', { pk: 'PAYMENT#1', sequenceNumber: '7' }), streamRecord('t', { pk: 'PAYMENT#2', sequenceNumber: '8' })])
  t.same(await worker(event, context), { batchItemFailures: [{ itemIdentifier: '7' }] })
})

t.test('the item kind is the pk prefix before the first #', async (t) => {
  t.equal(itemKind(streamRecord('t', { pk: 'WEBHOOK#stripe#evt_1', sequenceNumber: '1' })), 'WEBHOOK')
  t.equal(itemKind(streamRecord('t', { pk: 'PLAIN', sequenceNumber: '1' })), 'PLAIN')
})
