import { ReceiveMessageCommand, type Message } from '@aws-sdk/client-sqs'
import t from 'tap'
import { createLocalContext } from '../../src/local/lambda-context.js'
import { build, bearer, type Built, type TEST_KEYS } from '../helpers/build.js'
import { sqsRecord } from '../helpers/events.js'
import { storePayment } from '../helpers/payments.js'
import { assertProblem } from '../helpers/problems.js'

const PAYMENT_ID = 'pay_01JDQ3V0J6Q8ZC7W8E5T0R2N4M'
const COMMAND = JSON.stringify({ type: 'charge', paymentId: PAYMENT_ID })

/** Dead-letters a message the way production does: the DLQ worker receives it from the dead-letter queue. */
async function deadLetter (built: Built, body = COMMAND): Promise<string> {
  const record = sqsRecord(built.config.queues.deadLetter.name, body, {
    messageAttributes: { correlationId: { dataType: 'String', stringValue: PAYMENT_ID, stringListValues: [], binaryListValues: [] } }
  })
  const worker = built.workers.queues[built.config.queues.deadLetter.name]
  if (worker === undefined) throw new Error('no dead-letter worker')
  const response = await worker({ Records: [record] }, createLocalContext('paylith-test', 30_000))
  if (response.batchItemFailures.length > 0) throw new Error('the dead letter was not recorded')
  return record.messageId
}

const redrive = (built: Built, id: string, key: keyof typeof TEST_KEYS = 'admin') =>
  built.app.inject({ method: 'POST', url: `/v1/dead-letters/${encodeURIComponent(id)}/redrive`, headers: bearer(key) })

async function workQueueMessages (built: Built): Promise<Message[]> {
  const { Messages = [] } = await built.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: built.config.queues.work.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ['All'] }))
  return Messages
}

t.test('dead-letter routes need an API key with the admin scope', async (t) => {
  const built = await build(t)
  const id = await deadLetter(built)

  t.test('no key is 401', async (t) => {
    assertProblem(t, await built.app.inject({ method: 'GET', url: '/v1/dead-letters' }), 401, 'unauthorized')
    assertProblem(t, await built.app.inject({ method: 'POST', url: `/v1/dead-letters/${id}/redrive` }), 401, 'unauthorized')
  })

  t.test('a payments key, read or write, is 403 on the list and on redrive', async (t) => {
    for (const key of ['read', 'write'] as const) {
      assertProblem(t, await built.app.inject({ method: 'GET', url: '/v1/dead-letters', headers: bearer(key) }), 403, 'forbidden')
      assertProblem(t, await redrive(built, id, key), 403, 'forbidden')
    }
    t.equal((await built.deps.deadLetters.get(id))?.status, 'open', 'a refused redrive changed nothing')
  })

  t.test('the admin key lists them', async (t) => {
    const response = await built.app.inject({ method: 'GET', url: '/v1/dead-letters', headers: bearer('admin') })
    t.equal(response.statusCode, 200)
    t.match(response.json(), { data: [{ messageId: id, body: COMMAND, kind: 'message', status: 'open' }], nextCursor: null })
  })
})

t.test('GET /v1/dead-letters pages newest first', async (t) => {
  const built = await build(t)
  const ids: string[] = []
  for (let i = 0; i < 3; i++) {
    ids.push(await deadLetter(built, JSON.stringify({ type: 'charge', paymentId: `pay_${i}` })))
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  const first = (await built.app.inject({ method: 'GET', url: '/v1/dead-letters?limit=2', headers: bearer('admin') })).json()
  const second = (await built.app.inject({ method: 'GET', url: `/v1/dead-letters?limit=2&cursor=${encodeURIComponent(first.nextCursor)}`, headers: bearer('admin') })).json()
  t.same([...first.data, ...second.data].map((d: { messageId: string }) => d.messageId), [...ids].reverse())
  t.equal(second.nextCursor, null)
})

t.test('GET /v1/dead-letters?paymentId= lists that payment\'s dead letters only, page by page, newest first', async (t) => {
  const built = await build(t)
  const payment = await storePayment(built.deps)
  const other = await storePayment(built.deps)
  const ids: string[] = []
  for (let i = 0; i < 3; i++) {
    ids.push(await deadLetter(built, JSON.stringify({ type: 'charge', paymentId: payment.id })))
    await deadLetter(built, JSON.stringify({ type: 'charge', paymentId: other.id }))
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  const list = (query: string) => built.app.inject({ method: 'GET', url: `/v1/dead-letters?${query}`, headers: bearer('admin') })

  const first = (await list(`paymentId=${payment.id}&limit=2`)).json()
  t.equal(first.data.length, 2, 'a full page: the filter is an index, not a filtered scan')
  t.match(first.data, [{ paymentId: payment.id }, { paymentId: payment.id }])
  const second = (await list(`paymentId=${payment.id}&limit=2&cursor=${encodeURIComponent(first.nextCursor)}`)).json()
  t.same([...first.data, ...second.data].map((d: { messageId: string }) => d.messageId), [...ids].reverse())
  t.equal(second.nextCursor, null)
  t.equal((await list('limit=100')).json().data.length, 6, 'unfiltered, every dead letter')

  t.test('a cursor works only for the listing that issued it', async (t) => {
    assertProblem(t, await list(`paymentId=${other.id}&limit=2&cursor=${encodeURIComponent(first.nextCursor)}`), 400, 'invalid-cursor')
    assertProblem(t, await list(`limit=2&cursor=${encodeURIComponent(first.nextCursor)}`), 400, 'invalid-cursor')
    const unfiltered = (await list('limit=2')).json()
    assertProblem(t, await list(`paymentId=${payment.id}&cursor=${encodeURIComponent(unfiltered.nextCursor)}`), 400, 'invalid-cursor')
  })

  t.test('a payment without dead letters has an empty list; a malformed id is 400', async (t) => {
    t.same((await list('paymentId=pay_01JDQ3V0J6Q8ZC7W8E5T0R2N4M')).json(), { data: [], nextCursor: null })
    const problem = assertProblem(t, await list('paymentId=nope'), 400, 'validation')
    t.match(problem.invalidParams, [{ name: 'querystring/paymentId' }])
  })
})

t.test('redriving an unknown id is 404', async (t) => {
  const built = await build(t)
  const problem = assertProblem(t, await redrive(built, 'no-such-message'), 404, 'not-found')
  t.equal(problem.detail, 'dead letter no-such-message does not exist')
})

t.test('a redrive sends the original message back to the work queue once; a second redrive is 409', async (t) => {
  const built = await build(t)
  const id = await deadLetter(built)

  const first = await redrive(built, id)
  t.equal(first.statusCode, 200)
  t.match(first.json(), { messageId: id, body: COMMAND, status: 'redriven', redrivenAt: /^\d{4}-\d\d-\d\dT/ })
  t.match(await built.deps.deadLetters.get(id), { status: 'redriven', redrivenAt: first.json().redrivenAt }, 'stored as redriven')

  const again = await redrive(built, id)
  const problem = assertProblem(t, again, 409, 'conflict')
  t.match(problem.detail, /already redriven/)

  const messages = await workQueueMessages(built)
  t.same(messages.map((message) => message.Body), [COMMAND], 'exactly one message, with the original body')
  t.equal(messages[0]?.MessageAttributes?.correlationId?.StringValue, PAYMENT_ID, 'and its message attributes')
})

t.test('a stream batch whose records could not be read back from the stream cannot be redriven: 422 saying why', async (t) => {
  const built = await build(t)
  const id = await deadLetter(built, JSON.stringify({ requestContext: { condition: 'RetryAttemptsExhausted' }, DDBStreamBatchInfo: { shardId: 'shard-1', startSequenceNumber: '100', endSequenceNumber: '120', batchSize: 3, streamArn: `${built.resources.streamArn}-gone` } }))
  t.match(await built.deps.deadLetters.get(id), { kind: 'stream-batch', streamBatch: { shardId: 'shard-1', batchSize: 3, unavailable: /./ } })
  const problem = assertProblem(t, await redrive(built, id), 422, 'not-redrivable')
  t.match(problem.detail, /could not be read back from the stream, so there is nothing to run again: the stream (or its shard is gone|refused the range)/)
  t.equal((await built.deps.deadLetters.get(id))?.status, 'open', 'left as it was')
  t.same(await workQueueMessages(built), [], 'nothing was sent')
})

t.test('when the work queue refuses the message the redrive is 503 and the dead letter stays open for another try', async (t) => {
  const built = await build(t)
  const id = await deadLetter(built)
  // Fault injection (the emulator cannot refuse a send on demand): SQS fails the first send.
  let failures = 1
  built.clients.sqs.middlewareStack.add((next, context) => async (args) => {
    if (context.commandName === 'SendMessageCommand' && failures > 0) {
      failures -= 1
      throw new Error('SQS is unavailable')
    }
    return next(args)
  }, { step: 'initialize', name: 'failFirstSend' })

  assertProblem(t, await redrive(built, id), 503, 'dependency-unavailable')
  t.equal((await built.deps.deadLetters.get(id))?.status, 'open', 'the claim was given back')
  t.equal((await redrive(built, id)).statusCode, 200, 'the next redrive goes through')
  t.same((await workQueueMessages(built)).map((message) => message.Body), [COMMAND])
})
