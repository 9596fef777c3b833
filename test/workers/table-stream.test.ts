import { Writable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import type { DynamoDBRecord } from 'aws-lambda'
import t from 'tap'
import { createLocalContext } from '../../src/local/lambda-context.js'
import { createLogger } from '../../src/observability/logger.js'
import { createTableStreamWorker, itemKind, type ChangeHandler } from '../../src/workers/table-stream.js'
import { streamEvent, streamRecord } from '../helpers/events.js'

const logger = createLogger({ logLevel: 'silent' })
const context = createLocalContext('paylith-test', 30_000)
const serial = { concurrency: 1 }
const seq = (record: DynamoDBRecord): string => record.dynamodb?.SequenceNumber ?? ''

/** Records of items `PAYMENT#<item>`, each `[item, sequenceNumber]`, in this (stream) order. */
const batch = (records: Array<[string, string]>) => streamEvent(records.map(([item, sequenceNumber]) => streamRecord('t', { pk: `PAYMENT#${item}`, sk: 'PAYMENT', sequenceNumber })))

/** A handler that records when each record starts and ends, and how many run at once. */
function tracing (behave: (record: DynamoDBRecord) => Promise<void> = async () => {}) {
  const events: string[] = []
  let inFlight = 0
  let maxInFlight = 0
  const handler: ChangeHandler = async (record) => {
    events.push(`start:${seq(record)}`)
    maxInFlight = Math.max(maxInFlight, ++inFlight)
    try {
      await behave(record)
    } finally {
      inFlight--
      events.push(`end:${seq(record)}`)
    }
  }
  return { handler, events, maxInFlight: () => maxInFlight }
}

t.test('records are handled in stream order by the handler for their item kind', async (t) => {
  const handled: string[] = []
  const worker = createTableStreamWorker({ logger }, {
    PAYMENT: async (record) => { handled.push(`payment:${seq(record)}`) },
    WEBHOOK: async (record) => { handled.push(`webhook:${seq(record)}`) }
  }, serial)
  const event = streamEvent([
    streamRecord('t', { pk: 'PAYMENT#1', sequenceNumber: '1' }),
    streamRecord('t', { pk: 'IDEMPOTENCY#k', sequenceNumber: '2' }),
    streamRecord('t', { pk: 'WEBHOOK#stripe#evt', sequenceNumber: '3' }),
    streamRecord('t', { pk: 'PAYMENT#2', sequenceNumber: '4' })
  ])
  t.same(await worker(event, context), { batchItemFailures: [] })
  t.same(handled, ['payment:1', 'webhook:3', 'payment:4'], 'kinds without a handler are skipped')
})

t.test('at concurrency 1 a batch runs one record at a time in stream order, across items', async (t) => {
  const { handler, events, maxInFlight } = tracing(() => sleep(2))
  const worker = createTableStreamWorker({ logger }, { PAYMENT: handler }, serial)
  await worker(batch([['a', '1'], ['b', '2'], ['a', '3'], ['c', '4'], ['b', '5']]), context)
  t.same(events, ['1', '2', '3', '4', '5'].flatMap((n) => [`start:${n}`, `end:${n}`]))
  t.equal(maxInFlight(), 1)
})

t.test('the first failure stops the batch and is reported; nothing after it is handled (concurrency 1)', async (t) => {
  const handled: string[] = []
  const worker = createTableStreamWorker({ logger }, {
    PAYMENT: async (record) => {
      if (seq(record) === '20') throw new Error('outbox send failed')
      handled.push(seq(record))
    }
  }, serial)
  const event = streamEvent(['10', '20', '30'].map((sequenceNumber, i) => streamRecord('t', { pk: `PAYMENT#${i}`, sequenceNumber })))
  t.same(await worker(event, context), { batchItemFailures: [{ itemIdentifier: '20' }] })
  t.same(handled, ['10'])
})

t.test('a batch whose every record fails reports the lowest one, never an empty list', async (t) => {
  const worker = createTableStreamWorker({ logger }, { PAYMENT: async () => { throw new Error('down') } }, { concurrency: 10 })
  const event = streamEvent([streamRecord('t', { pk: 'PAYMENT#1', sequenceNumber: '7' }), streamRecord('t', { pk: 'PAYMENT#2', sequenceNumber: '8' })])
  t.same(await worker(event, context), { batchItemFailures: [{ itemIdentifier: '7' }] })
})

t.test('one item\'s records run in order, one at a time, while other items\' records go on', async (t) => {
  let releaseA: () => void = () => {}
  const aBlocked = new Promise<void>((resolve) => { releaseA = resolve })
  const { handler, events } = tracing(async (record) => {
    if (seq(record) === '1') await aBlocked
  })
  const worker = createTableStreamWorker({ logger }, { PAYMENT: handler }, { concurrency: 10 })
  const done = worker(batch([['a', '1'], ['b', '2'], ['a', '3'], ['b', '4'], ['c', '5']]), context)
  await sleep(20)
  t.same(['end:2', 'end:4', 'end:5'].filter((e) => events.includes(e)), ['end:2', 'end:4', 'end:5'], 'b\'s two records and c\'s ran while a waits')
  t.notOk(events.includes('start:3'), 'a\'s second version waits for its first')
  releaseA()
  t.same(await done, { batchItemFailures: [] })
  t.ok(events.indexOf('end:1') < events.indexOf('start:3'), 'a: 1 ended before 3 started')
  t.ok(events.indexOf('end:2') < events.indexOf('start:4'), 'b: 2 ended before 4 started')
})

t.test('at most `concurrency` items are in flight, and that many are reached', async (t) => {
  const { handler, maxInFlight } = tracing(() => sleep(5))
  const worker = createTableStreamWorker({ logger }, { PAYMENT: handler }, { concurrency: 3 })
  const records = Array.from({ length: 20 }, (_, i): [string, string] => [`item${i % 7}`, String(i + 1)])
  t.same(await worker(batch(records), context), { batchItemFailures: [] })
  t.equal(maxInFlight(), 3)
})

t.test('after an item fails, its later records are not run; other items\' records finish; the failure is reported', async (t) => {
  const { handler, events } = tracing(async (record) => {
    await sleep(5)
    if (seq(record) === '1') throw new Error('relay failed')
  })
  const worker = createTableStreamWorker({ logger }, { PAYMENT: handler }, { concurrency: 10 })
  t.same(await worker(batch([['a', '1'], ['b', '2'], ['a', '3'], ['b', '4']]), context), { batchItemFailures: [{ itemIdentifier: '1' }] })
  t.notOk(events.includes('start:3'), 'a\'s record after its failure is not run')
  t.ok(events.includes('end:2'), 'b\'s record that had started finished')
})

t.test('once a failure is known no record after it starts, while records before it still run', async (t) => {
  const { handler, events } = tracing(async (record) => {
    if (seq(record) === '1') await sleep(20)
    if (seq(record) === '3') throw new Error('relay failed')
  })
  const worker = createTableStreamWorker({ logger }, { PAYMENT: handler }, { concurrency: 2 })
  // a: 1 (slow), 2; c: 3 fails at once; a: 4; d: 5 waits for a free slot.
  const response = await worker(batch([['a', '1'], ['a', '2'], ['c', '3'], ['a', '4'], ['d', '5']]), context)
  t.same(response, { batchItemFailures: [{ itemIdentifier: '3' }] })
  t.ok(events.includes('end:2'), 'a\'s record before the failure still ran, so the checkpoint can move past it')
  t.notOk(events.includes('start:4'), 'a\'s record after the failure did not start')
  t.notOk(events.includes('start:5'), 'a new item after the failure did not start')
})

t.test('of several failures the lowest sequence number is reported, compared as integers', async (t) => {
  const worker = createTableStreamWorker({ logger }, {
    PAYMENT: async (record) => {
      // The lower one fails last, so the report does not depend on which failed first.
      if (seq(record) === '99') await sleep(10)
      throw new Error('down')
    }
  }, { concurrency: 10 })
  t.same(await worker(batch([['a', '99'], ['b', '100']]), context), { batchItemFailures: [{ itemIdentifier: '99' }] })
  const long = batch([['a', '1100000000017454423009'], ['b', '1100000000017454423010']])
  t.same(await worker(long, context), { batchItemFailures: [{ itemIdentifier: '1100000000017454423009' }] }, 'beyond double precision')
})

t.test('a failed record without a sequence number fails the whole batch (an empty identifier)', async (t) => {
  const worker = createTableStreamWorker({ logger }, { PAYMENT: async () => { throw new Error('down') } }, serial)
  const record = streamRecord('t', { pk: 'PAYMENT#1', sequenceNumber: '1' })
  delete record.dynamodb?.SequenceNumber
  t.same(await worker(streamEvent([record]), context), { batchItemFailures: [{ itemIdentifier: '' }] })
})

t.test('each failed record\'s log line carries its own sequence number and payment; the failures are counted', async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const capture = createLogger({ logLevel: 'info' }, new Writable({ write (chunk, _e, done) { lines.push(JSON.parse(String(chunk))); done() } }))
  const counted: Array<[string, Record<string, string> | undefined, number | undefined]> = []
  const metrics = { count: (name: string, dimensions?: Record<string, string>, value?: number) => { counted.push([name, dimensions, value]) } }
  const worker = createTableStreamWorker({ logger: capture, metrics }, {
    PAYMENT: async (record) => {
      await sleep(seq(record) === '1' ? 10 : 1)
      throw new Error('down')
    },
    WEBHOOK: async () => { throw new Error('down') }
  }, { concurrency: 10 })
  const event = streamEvent([
    streamRecord('t', { pk: 'PAYMENT#pay_a', sk: 'PAYMENT', sequenceNumber: '1' }),
    streamRecord('t', { pk: 'PAYMENT#pay_b', sk: 'PAYMENT', sequenceNumber: '2' }),
    streamRecord('t', { pk: 'WEBHOOK#standard#msg_1', sequenceNumber: '3', newImage: { paymentId: { S: 'pay_c' } } })
  ])
  await worker(event, context)
  const failed = lines.filter((line) => line.msg === 'stream record failed').map((line) => [line.sequenceNumber, line.paymentId])
  t.same(failed.sort(), [['1', 'pay_a'], ['2', 'pay_b'], ['3', 'pay_c']])
  t.same(counted, [['BatchItemFailures', { source: 'table-stream' }, 3]])
  t.ok(lines.some((line) => line.msg === 'stream batch failed: redelivered from the lowest failed record' && line.itemIdentifier === '1'))
})

t.test('the item kind is the pk prefix before the first #', async (t) => {
  t.equal(itemKind(streamRecord('t', { pk: 'WEBHOOK#stripe#evt_1', sequenceNumber: '1' })), 'WEBHOOK')
  t.equal(itemKind(streamRecord('t', { pk: 'PLAIN', sequenceNumber: '1' })), 'PLAIN')
})
