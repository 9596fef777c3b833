import { Writable } from 'node:stream'
import t from 'tap'
import { createLambdaHandler } from '../../src/lambda/handler.js'
import { createLocalContext } from '../../src/local/lambda-context.js'
import { createLogger } from '../../src/observability/logger.js'
import { createWorkQueueWorker } from '../../src/workers/work-queue.js'
import type { App } from '../../src/app.js'
import type { SqsWorker, StreamWorker } from '../../src/workers/types.js'
import { build } from '../helpers/build.js'
import { httpApiEvent, restApiEvent, sqsEvent, streamEvent, streamRecord } from '../helpers/events.js'

interface ProxyResult { statusCode: number; headers: Record<string, string>; body: string; cookies?: string[]; isBase64Encoded?: boolean }

// A test-only route that echoes what the app saw of the request and of its Lambda event.
function echoRoute (app: App): void {
  app.post('/echo', { config: { auth: 'public' } }, async (request, reply) => {
    reply.header('set-cookie', ['a=1; Path=/', 'b=2; Path=/'])
    return {
      requestId: request.headers['x-request-id'],
      logId: request.id,
      marker: request.headers['x-marker'],
      cookie: request.headers.cookie,
      forwarded: request.headers['x-forwarded-for'],
      body: request.body
    }
  })
}

const context = (awsRequestId?: string) => ({ ...createLocalContext('paylith-test', 30_000), ...(awsRequestId !== undefined && { awsRequestId }) })

t.test('a v2 event with cookies and a base64 body reaches the route intact, and Set-Cookie comes back as cookies', async (t) => {
  const { app } = await build(t, { bootstrap: false, configure: echoRoute })
  const handler = createLambdaHandler({ app, workers: { queues: {}, streams: {} } })
  await app.ready()
  const event = httpApiEvent({
    method: 'POST',
    path: '/echo',
    headers: { 'content-type': 'application/json', 'x-marker': 'm1' },
    cookies: ['session=abc', 'theme=dark'],
    body: JSON.stringify({ hello: 'wörld' }),
    base64: true
  })
  const response = await handler(event, context()) as ProxyResult
  t.equal(response.statusCode, 200)
  t.same(JSON.parse(response.body), { requestId: event.requestContext.requestId, logId: event.requestContext.requestId, marker: 'm1', cookie: 'session=abc;theme=dark', body: { hello: 'wörld' } })
  t.same(response.cookies, ['a=1; Path=/', 'b=2; Path=/'])
})

t.test('a v1 event keeps multi-value headers', async (t) => {
  const { app } = await build(t, { bootstrap: false, configure: echoRoute })
  const handler = createLambdaHandler({ app, workers: { queues: {}, streams: {} } })
  await app.ready()
  const event = restApiEvent({
    method: 'POST',
    path: '/echo',
    headers: { 'content-type': 'application/json' },
    multiValueHeaders: { 'x-forwarded-for': ['198.51.100.1', '203.0.113.7'] },
    body: '{"n":1}'
  })
  const response = await handler(event, context()) as ProxyResult
  t.equal(response.statusCode, 200)
  t.match(JSON.parse(response.body), { forwarded: /198\.51\.100\.1.*203\.0\.113\.7/, body: { n: 1 } })
})

t.test('80 concurrent API invocations each see only their own event', async (t) => {
  const { app } = await build(t, { bootstrap: false, configure: echoRoute })
  const handler = createLambdaHandler({ app, workers: { queues: {}, streams: {} } })
  await app.ready()
  const events = Array.from({ length: 80 }, (_, i) => httpApiEvent({
    method: 'POST',
    path: '/echo',
    headers: { 'content-type': 'application/json', 'x-marker': `m${i}` },
    body: JSON.stringify({ i }),
    requestId: `req-${i}`
  }))
  const responses = await Promise.all(events.map((event, i) => handler(event, context(`lambda-${i}`)) as Promise<ProxyResult>))
  const mismatched = responses.filter((response, i) => {
    const seen = JSON.parse(response.body)
    return seen.requestId !== `req-${i}` || seen.logId !== `req-${i}` || seen.marker !== `m${i}` || seen.body.i !== i
  })
  t.equal(responses.length, 80)
  t.equal(mismatched.length, 0, 'no invocation saw another one\'s event')
})

t.test('every log line of an invocation carries its Lambda request id', async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const sink = new Writable({ write (chunk, _encoding, done) { lines.push(JSON.parse(String(chunk))); done() } })
  const logger = createLogger({ logLevel: 'info' }, sink)
  const { app } = await build(t, { bootstrap: false, logger })
  const worker = createWorkQueueWorker({ logger, clock: () => new Date(), deadLetters: { recordOnce: async () => true } }, {})
  const handler = createLambdaHandler({ app, workers: { queues: { 'log-queue': worker }, streams: {} } })
  await app.ready()

  await handler(httpApiEvent({ path: '/health' }), context('lambda-http-1'))
  await handler(sqsEvent('log-queue', ['{"type":"charge","paymentId":"pay_no_handler"}']), context('lambda-sqs-1'))

  const httpLines = lines.filter((line) => line.awsRequestId === 'lambda-http-1')
  const sqsLines = lines.filter((line) => line.awsRequestId === 'lambda-sqs-1')
  t.ok(httpLines.length >= 2, 'request and response lines are tagged')
  t.ok(sqsLines.some((line) => line.msg === 'work-queue message failed' && typeof line.messageId === 'string'), 'the worker line is tagged with request and message id')
  t.equal(lines.filter((line) => line.awsRequestId === undefined && line.msg !== 'Server listening').length, 0, 'no untagged line')
})

t.test('a partial SQS failure reports exactly the failed messages', async (t) => {
  const { app, deps } = await build(t, { bootstrap: false })
  const worker = createWorkQueueWorker(deps, {
    charge: async (command) => { if (command.paymentId.startsWith('pay_fail')) throw new Error('provider unavailable') }
  })
  const handler = createLambdaHandler({ app, workers: { queues: { 'mixed-queue': worker }, streams: {} } })
  const event = sqsEvent('mixed-queue', ['pay_ok_1', 'pay_fail_1', 'pay_ok_2', 'pay_fail_2'].map((paymentId) => JSON.stringify({ type: 'charge', paymentId })))
  const response = await handler(event, context())
  t.same(response, { batchItemFailures: [{ itemIdentifier: event.Records[1]?.messageId }, { itemIdentifier: event.Records[3]?.messageId }] })
})

t.test('a worker that reports an id outside the batch is caught, naming the source', async (t) => {
  const { app } = await build(t, { bootstrap: false })
  const broken: SqsWorker = async () => ({ batchItemFailures: [{ itemIdentifier: 'not-in-batch' }] })
  const handler = createLambdaHandler({ app, workers: { queues: { 'broken-queue': broken }, streams: {} } })
  await t.rejects(handler(sqsEvent('broken-queue', ['{}']), context()), { message: /broken-queue reported a failure for "not-in-batch"/ })
})

t.test('a stream worker that reports a sequence number outside the batch is caught, naming the source', async (t) => {
  // Lambda would fail the whole batch for it; passing it on as a partial failure would be wrong.
  const { app } = await build(t, { bootstrap: false })
  const broken: StreamWorker = async () => ({ batchItemFailures: [{ itemIdentifier: '999' }] })
  const handler = createLambdaHandler({ app, workers: { queues: {}, streams: { 'broken-table': broken } } })
  const event = streamEvent([streamRecord('broken-table', { pk: 'PAYMENT#1', sequenceNumber: '1' }), streamRecord('broken-table', { pk: 'PAYMENT#2', sequenceNumber: '2' })])
  await t.rejects(handler(event, context()), { name: 'TypeError', message: /broken-table.* reported a failure for "999", which is not in the batch/ })
})

t.test('a stream worker\'s failure inside the batch is passed on as it is', async (t) => {
  const { app } = await build(t, { bootstrap: false })
  const failing: StreamWorker = async () => ({ batchItemFailures: [{ itemIdentifier: '2' }] })
  const handler = createLambdaHandler({ app, workers: { queues: {}, streams: { 'failing-table': failing } } })
  const event = streamEvent([streamRecord('failing-table', { pk: 'PAYMENT#1', sequenceNumber: '1' }), streamRecord('failing-table', { pk: 'PAYMENT#2', sequenceNumber: '2' })])
  t.same(await handler(event, context()), { batchItemFailures: [{ itemIdentifier: '2' }] })
})

t.test('a worker that answers without a batchItemFailures list is caught, naming the source', async (t) => {
  const { app } = await build(t, { bootstrap: false })
  const broken = (async () => ({})) as unknown as SqsWorker
  const handler = createLambdaHandler({ app, workers: { queues: { 'listless-queue': broken }, streams: {} } })
  await t.rejects(handler(sqsEvent('listless-queue', ['{}']), context()), { name: 'TypeError', message: /listless-queue returned no batchItemFailures list/ })
})
