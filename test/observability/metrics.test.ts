import t from 'tap'
import { createLambdaHandler } from '../../src/lambda/handler.js'
import { createLocalContext } from '../../src/local/lambda-context.js'
import { METRICS_NAMESPACE, MetricName, createMetrics } from '../../src/observability/metrics.js'
import { createWorkQueueWorker } from '../../src/workers/work-queue.js'
import type { Deps } from '../../src/deps.js'
import { build } from '../helpers/build.js'
import { sqsEvent } from '../helpers/events.js'
import { jsonLines } from '../helpers/lines.js'

t.test('a count is one EMF document, written on flush, whose value is the count', async (t) => {
  const { lines, sink } = jsonLines()
  const metrics = createMetrics({ destination: sink, clock: () => new Date(1_800_000_000_000), context: () => ({ awsRequestId: 'inv-1' }) })
  metrics.count(MetricName.deadLetters, { kind: 'message' }, 3)
  metrics.count(MetricName.paymentCreated)
  t.equal(lines.length, 0, 'nothing is written before the flush')
  metrics.flush()
  metrics.flush()
  t.same(lines, [
    {
      awsRequestId: 'inv-1',
      _aws: { Timestamp: 1_800_000_000_000, CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Dimensions: [['kind']], Metrics: [{ Name: 'DeadLetters', Unit: 'Count' }] }] },
      kind: 'message',
      DeadLetters: 3
    },
    {
      awsRequestId: 'inv-1',
      _aws: { Timestamp: 1_800_000_000_000, CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Dimensions: [[]], Metrics: [{ Name: 'PaymentCreated', Unit: 'Count' }] }] },
      PaymentCreated: 1
    }
  ], 'one document per count, each written once')
})

t.test('documents held outside any invocation are written once a hundred pile up', async (t) => {
  const { lines, sink } = jsonLines()
  const metrics = createMetrics({ destination: sink })
  for (let i = 0; i < 99; i++) metrics.count(MetricName.circuitOpened)
  t.equal(lines.length, 0)
  metrics.count(MetricName.circuitOpened)
  t.equal(lines.length, 100)
})

t.test('with LOG_LEVEL=silent an invocation\'s metrics are written when it ends', async (t) => {
  const metrics = jsonLines()
  const { app, deps } = await build(t, { bootstrap: false, env: { LOG_LEVEL: 'silent' }, deps: { metricsDestination: metrics.sink } })
  let writtenDuring = -1
  const worker = createWorkQueueWorker(deps, {
    charge: async () => {
      deps.metrics.count(MetricName.paymentSucceeded)
      writtenDuring = metrics.lines.length
    }
  })
  const handler = createLambdaHandler({ app, workers: { queues: { 'metrics-queue': worker }, streams: {} }, metrics: deps.metrics })
  const event = sqsEvent('metrics-queue', ['pay_a', 'pay_b', 'pay_c'].map((paymentId) => JSON.stringify({ type: 'charge', paymentId })))
  await handler(event, createLocalContext('paylith-test', 30_000))
  t.equal(writtenDuring, 0, 'held during the invocation')
  t.equal(metrics.lines.filter((document) => document.PaymentSucceeded === 1).length, 3, 'three counts, three documents, at the end')
})

t.test('with LOG_LEVEL=silent a local request\'s metrics are written when it is answered, and the rest when the app closes', async (t) => {
  const metrics = jsonLines()
  const late: { deps?: Deps } = {}
  const { app, deps: built } = await build(t, {
    bootstrap: false,
    env: { LOG_LEVEL: 'silent' },
    deps: { metricsDestination: metrics.sink },
    configure: (app) => { app.get('/count', { config: { auth: 'public' } }, async () => { late.deps?.metrics.count(MetricName.webhookAccepted, { provider: 'standard' }); return {} }) }
  })
  late.deps = built
  await app.inject({ method: 'GET', url: '/count' })
  t.same(metrics.lines.map((document) => [document.WebhookAccepted, document.provider]), [[1, 'standard']])
  built.metrics.count(MetricName.circuitOpened, { provider: 'sandbox' })
  await app.close()
  t.equal(metrics.lines.length, 2, 'flushed on close')
})
