import { Writable } from 'node:stream'
import t from 'tap'
import { createLocalContext } from '../../src/local/lambda-context.js'
import { createLogger } from '../../src/observability/logger.js'
import { build } from '../helpers/build.js'
import { jsonLines } from '../helpers/lines.js'
import { sqsRecord } from '../helpers/events.js'

const context = () => createLocalContext('paylith-test', 30_000)

t.test('a dead-lettered message delivered twice is recorded once and alerted once', async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const logger = createLogger({ logLevel: 'info' }, new Writable({ write (chunk, _e, done) { lines.push(JSON.parse(String(chunk))); done() } }))
  const metrics = jsonLines()
  const built = await build(t, { logger, deps: { metricsDestination: metrics.sink } })
  const worker = built.workers.queues[built.config.queues.deadLetter.name]
  if (worker === undefined) throw new Error('no dead-letter worker')
  const record = sqsRecord(built.config.queues.deadLetter.name, '{"type":"charge","paymentId":"pay_1"}')

  // SQS delivers at least once: the same dead-letter-queue message may come twice.
  t.same(await worker({ Records: [record] }, context()), { batchItemFailures: [] })
  t.same(await worker({ Records: [record] }, context()), { batchItemFailures: [] })

  t.same((await built.deps.deadLetters.list({ limit: 10 })).deadLetters.map((d) => d.messageId), [record.messageId])
  built.deps.metrics.flush()
  t.same(metrics.lines.filter((line) => line.DeadLetters !== undefined).map((line) => [line.DeadLetters, line.kind]), [[1, 'message']], 'one alert metric, for the first delivery')
  t.equal(lines.filter((line) => line.msg === 'dead letter: a message exhausted its retries').length, 1, 'one error log line')
})

t.test('the DeadLetters alarm\'s metric is written even with LOG_LEVEL=silent, when the invocation ends', async (t) => {
  const metrics = jsonLines()
  const built = await build(t, { env: { LOG_LEVEL: 'silent' }, deps: { metricsDestination: metrics.sink } })
  const record = sqsRecord(built.config.queues.deadLetter.name, '{"type":"charge","paymentId":"pay_silent"}')
  t.same(await built.handler({ Records: [record] }, context()), { batchItemFailures: [] })
  t.same(metrics.lines.map((line) => [line.DeadLetters, line.kind]), [[1, 'message']])
})

t.test('a stream batch\'s failure record is stored as a stream-batch dead letter', async (t) => {
  const built = await build(t)
  const worker = built.workers.queues[built.config.queues.deadLetter.name]
  if (worker === undefined) throw new Error('no dead-letter worker')
  const body = JSON.stringify({ requestContext: { condition: 'RetryAttemptsExhausted' }, DDBStreamBatchInfo: { shardId: 's-1', startSequenceNumber: '1', endSequenceNumber: '9', batchSize: 9 } })
  const record = sqsRecord(built.config.queues.deadLetter.name, body)
  t.same(await worker({ Records: [record] }, context()), { batchItemFailures: [] })
  t.match(await built.deps.deadLetters.get(record.messageId), { kind: 'stream-batch', sourceQueue: 'stream', status: 'open', body })
})
