import t from 'tap'
import { createLambdaHandler } from '../../src/lambda/handler.js'
import { createLocalContext } from '../../src/local/lambda-context.js'
import { createLogger } from '../../src/observability/logger.js'
import { MetricName } from '../../src/observability/metrics.js'
import { createWorkQueueWorker } from '../../src/workers/work-queue.js'
import type { Deps } from '../../src/deps.js'
import { build } from '../helpers/build.js'
import { httpApiEvent, sqsEvent } from '../helpers/events.js'
import { jsonLines } from '../helpers/lines.js'

const context = (awsRequestId: string) => ({ ...createLocalContext('paylith-test', 30_000), awsRequestId })

/** Keys pino puts on every line. */
const BASE = ['hostname', 'level', 'msg', 'pid', 'service', 'time']
const keysOf = (line: Record<string, unknown>) => Object.keys(line).filter((key) => !BASE.includes(key)).sort()

t.test('each line carries exactly the context of its own unit of work, and N metric calls write N documents', async (t) => {
  const logs = jsonLines()
  const metrics = jsonLines()
  const logger = createLogger({ logLevel: 'info' }, logs.sink)
  const late: { deps?: Deps } = {}
  const { app, deps: built } = await build(t, {
    bootstrap: false,
    logger,
    deps: { metricsDestination: metrics.sink },
    configure: (app) => {
      app.get('/work', { config: { auth: 'public' } }, async (request) => {
        request.log.warn({ err: new Error('transient'), attempt: 1, retryInMs: 20 }, 'http step failed; retrying')
        late.deps?.metrics.count(MetricName.paymentSucceeded)
        late.deps?.metrics.count(MetricName.paymentSucceeded)
        request.log.info('http step done')
        return { ok: true }
      })
    }
  })
  late.deps = built
  const worker = createWorkQueueWorker({ ...built, metrics: built.metrics }, {
    charge: async (command) => {
      built.logger.warn({ err: new Error('transient'), attempt: 1, retryInMs: 10 }, 'charge step failed; retrying')
      built.metrics.count(MetricName.paymentFailed, { provider: command.paymentId })
      built.logger.info('charge step done')
    }
  }, { concurrency: 1, fifo: false })
  const handler = createLambdaHandler({ app, workers: { queues: { 'ctx-queue': worker }, streams: {} }, metrics: built.metrics })
  await app.ready()

  const http = await handler(httpApiEvent({ path: '/work', requestId: 'gw-1' }), context('inv-http')) as { statusCode: number }
  t.equal(http.statusCode, 200)
  const sqs = sqsEvent('ctx-queue', ['pay_one', 'pay_two'].map((paymentId) => JSON.stringify({ type: 'charge', paymentId })))
  t.same(await handler(sqs, context('inv-sqs')), { batchItemFailures: [] })

  const byMsg = (msg: string) => logs.lines.filter((line) => line.msg === msg)
  const [done] = byMsg('http step done')
  t.same(keysOf(done ?? {}), ['awsRequestId', 'reqId'], 'the HTTP step\'s second line has its request\'s context and nothing of the first line')
  t.match(done, { awsRequestId: 'inv-http', reqId: 'gw-1' })
  const [completed] = byMsg('request completed')
  t.same(keysOf(completed ?? {}), ['awsRequestId', 'reqId', 'res', 'responseTime'], 'the request\'s last line carries no field of the lines before it')

  const workerDone = byMsg('charge step done')
  t.equal(workerDone.length, 2)
  for (const [i, line] of workerDone.entries()) {
    t.same(keysOf(line), ['awsRequestId', 'messageId', 'paymentId'], 'a worker step carries its own record\'s context only')
    t.match(line, { awsRequestId: 'inv-sqs', messageId: sqs.Records[i]?.messageId, paymentId: ['pay_one', 'pay_two'][i] })
  }
  t.notOk(logs.lines.some((line) => line.awsRequestId === 'inv-sqs' && line.reqId !== undefined), 'the worker inherits nothing of the HTTP request')

  t.equal(logs.lines.filter((line) => '_aws' in line).length, 0, 'no log line carries a metric block')
  t.equal(metrics.lines.length, 4, 'four metric calls, four documents')
  t.same(metrics.lines.map((document) => [Object.keys(document).includes('_aws'), document.awsRequestId]), [[true, 'inv-http'], [true, 'inv-http'], [true, 'inv-sqs'], [true, 'inv-sqs']])
  t.same(metrics.lines.slice(2).map((document) => [document.PaymentFailed, document.provider, document.messageId]), [[1, 'pay_one', sqs.Records[0]?.messageId], [1, 'pay_two', sqs.Records[1]?.messageId]])
})
