import t from 'tap'
import { createLocalContext } from '../src/local/lambda-context.js'
import { bearer } from './helpers/build.js'
import { useLambdaEnvironment } from './helpers/lambda-env.js'
import { httpApiEvent, paymentInsertRecord, restApiEvent, sqsEvent, streamEvent, streamRecord } from './helpers/events.js'

// The real src/lambda.ts module, initialised from the environment as in AWS.
const config = await useLambdaEnvironment('lambda')
const { handler } = await import('../src/lambda.js')
const context = () => createLocalContext('paylith-test', 30_000)

t.test('an HTTP API v2 event is answered by the app', async (t) => {
  const response = await handler(httpApiEvent({ path: '/health' }), context()) as { statusCode: number; body: string }
  t.equal(response.statusCode, 200)
  t.same(JSON.parse(response.body), { status: 'ok' })
})

t.test('an HTTP API v2 event on a named stage has the stage removed from the path', async (t) => {
  const response = await handler(httpApiEvent({ path: '/prod/ready', stage: 'prod' }), context()) as { statusCode: number; body: string }
  t.equal(response.statusCode, 200)
  t.same(JSON.parse(response.body), { status: 'ready', checks: { dynamodb: 'ok' } })
})

t.test('a REST API v1 event on a stage is answered by the app', async (t) => {
  const response = await handler(restApiEvent({ path: '/health' }), context()) as { statusCode: number; body: string }
  t.equal(response.statusCode, 200)
  t.same(JSON.parse(response.body), { status: 'ok' })
})

t.test('an unknown route through Lambda is a 404 problem+json', async (t) => {
  const response = await handler(httpApiEvent({ path: '/v0/nothing' }), context()) as { statusCode: number; headers: Record<string, string>; body: string }
  t.equal(response.statusCode, 404)
  t.match(response.headers['content-type'], /^application\/problem\+json/)
  t.equal(JSON.parse(response.body).type, 'https://paylith.dev/problems/not-found')
})

t.test('an SQS batch goes to the work-queue worker: a failed command is reported, malformed messages become dead letters saying why', async (t) => {
  const event = sqsEvent(config.queues.work.name, ['{"type":"charge","paymentId":"pay_01JDQ3V0J6Q8ZC7W8E5T0R2N4M"}', '{"type":"no-such-command"}', 'not json'])
  const response = await handler(event, context())
  t.same(response, { batchItemFailures: [{ itemIdentifier: event.Records[0]?.messageId }] }, 'the unknown payment is retried; the malformed messages are not')
  const listed = await handler(httpApiEvent({ path: '/v1/dead-letters', headers: bearer('admin') }), context()) as { statusCode: number; body: string }
  const deadLetters = (JSON.parse(listed.body) as { data: Array<{ messageId: string, reason?: string }> }).data
  const reasonOf = (messageId?: string) => deadLetters.find((d) => d.messageId === messageId)?.reason
  t.match(reasonOf(event.Records[1]?.messageId), /unknown command type "no-such-command"/)
  t.match(reasonOf(event.Records[2]?.messageId), /not JSON/)
  t.equal(reasonOf(event.Records[0]?.messageId), undefined)
})

t.test('an SQS batch from a queue with no worker is an UnsupportedEventError naming the queue', async (t) => {
  await t.rejects(handler(sqsEvent('someone-elses-queue', ['{}']), context()), {
    name: 'UnsupportedEventError',
    message: /no worker is registered for SQS queue "someone-elses-queue"/
  })
})

t.test('a DynamoDB Stream batch goes to the table-stream worker, which counts the new payment into its customer\'s summary', async (t) => {
  const payment = { id: 'pay_01JDQ3V0J6Q8ZC7W8E5T0R2N4A', customerId: 'cus_lambda_stream', amount: 1999, currency: 'EUR' }
  t.same(await handler(streamEvent([paymentInsertRecord(config.tableName, payment, '100')]), context()), { batchItemFailures: [] })
  // The summary exists only if this table's stream worker (and not some other, or none) ran.
  const response = await handler(httpApiEvent({ path: `/v1/customers/${payment.customerId}/summary`, headers: bearer('read') }), context()) as { statusCode: number; body: string }
  t.equal(response.statusCode, 200)
  t.same(JSON.parse(response.body).totals, [{ currency: 'EUR', status: 'pending', count: 1, amount: 1999 }])
})

t.test('a DynamoDB Stream batch from another table is an UnsupportedEventError naming the table', async (t) => {
  await t.rejects(handler(streamEvent([streamRecord('other-table', { pk: 'X#1', sequenceNumber: '1' })]), context()), {
    name: 'UnsupportedEventError',
    message: /no worker is registered for the stream of table "other-table"/
  })
})

t.test('a scheduled EventBridge event runs the sweeper', async (t) => {
  const event = { version: '0', id: 'e1', 'detail-type': 'Scheduled Event', source: 'aws.events', account: '1', time: new Date().toISOString(), region: 'us-east-1', resources: ['arn:aws:events:us-east-1:1:rule/sweep'], detail: {} }
  t.same(await handler(event, context()), { resent: 0, gaveUp: 0, needAttention: 0 })
})

t.test('a warm-up ping is answered without touching the app', async (t) => {
  t.same(await handler({ source: 'serverless-plugin-warmup' }, context()), { warmed: true })
})

t.test('any other event is an UnsupportedEventError that describes its shape', async (t) => {
  await t.rejects(handler({ detail: {}, 'detail-type': 'Scheduled Event' }, context()), {
    name: 'UnsupportedEventError',
    message: 'no handler for this event: an object with keys [detail, detail-type]'
  })
  await t.rejects(handler({ Records: [{ eventSource: 'aws:kinesis' }] }, context()), {
    name: 'UnsupportedEventError',
    message: /Records\[0\]\.eventSource="aws:kinesis"/
  })
  await t.rejects(handler(null, context()), { name: 'UnsupportedEventError', message: 'no handler for this event: a null' })
})
