import { GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb'
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs'
import { marshall } from '@aws-sdk/util-dynamodb'
import type { LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import type { Payment } from '../../src/domain/payment.js'
import { createLocalContext } from '../../src/local/lambda-context.js'
import type { SandboxProvider } from '../../src/providers/sandbox.js'
import { Keys } from '../../src/store/table.js'
import { createChargeHandler } from '../../src/workers/charge.js'
import { createSweeper } from '../../src/workers/sweeper.js'
import { build, bearer, withBreaker, type Built, type TEST_KEYS } from '../helpers/build.js'
import { sqsRecord, streamEvent } from '../helpers/events.js'
import { cancelTransactions } from '../helpers/faults.js'
import { jsonLines } from '../helpers/lines.js'
import { storePayment } from '../helpers/payments.js'
import { streamRecords } from '../helpers/stream.js'

const context = () => createLocalContext('paylith-cancel-test', 30_000)
const PROBLEM = /^application\/problem\+json/

async function cancel (built: Built, paymentId: string, { key = `cancel-${Math.random()}`, auth = 'all' }: { key?: string | null, auth?: keyof typeof TEST_KEYS | null } = {}): Promise<LightMyRequestResponse> {
  return built.app.inject({
    method: 'POST',
    url: `/v1/payments/${paymentId}/cancel`,
    headers: { ...(auth !== null && bearer(auth)), ...(key !== null && { 'idempotency-key': key }) }
  })
}

function assertProblem (t: Test, response: LightMyRequestResponse, status: number, type: string): Record<string, unknown> {
  t.equal(response.statusCode, status, `status ${status}`)
  t.match(response.headers['content-type'], PROBLEM, 'problem+json')
  const problem = response.json()
  t.equal(problem.type, `https://paylith.dev/problems/${type}`)
  t.equal(problem.status, status)
  return problem
}

async function history (built: Built, paymentId: string): Promise<string[]> {
  return ((await built.deps.payments.history(paymentId)) ?? []).map((event) => event.status)
}

t.test('a pending payment is canceled: 200 with the payment, one history event, one PaymentCanceled metric', async (t) => {
  const metrics = jsonLines()
  const built = await build(t, { deps: { metricsDestination: metrics.sink } })
  const payment = await storePayment(built.deps, { customerId: 'cus_cancel' })

  const response = await cancel(built, payment.id, { key: 'cancel-1' })
  t.equal(response.statusCode, 200, response.body)
  t.match(response.json(), { id: payment.id, status: 'canceled', amount: payment.amount, currency: 'EUR', customerId: 'cus_cancel', createdAt: payment.createdAt })
  t.equal(response.headers['idempotent-replayed'], undefined)

  const stored = await built.deps.payments.get(payment.id)
  t.match(stored, { status: 'canceled', version: 2 })
  t.match(await built.deps.payments.history(payment.id), [
    { status: 'pending', previousStatus: null, version: 1 },
    { status: 'canceled', previousStatus: 'pending', version: 2, at: stored?.updatedAt }
  ])
  const read = await built.app.inject({ method: 'GET', url: `/v1/payments/${payment.id}`, headers: bearer('read') })
  t.same(read.json(), response.json(), 'the answer is the payment as stored')

  const replay = await cancel(built, payment.id, { key: 'cancel-1' })
  t.equal(replay.statusCode, 200)
  t.equal(replay.headers['idempotent-replayed'], 'true')
  t.same(replay.json(), response.json())
  t.equal(metrics.lines.filter((line) => line.PaymentCanceled === 1).length, 1, 'one metric document for the one cancel; the replay counts nothing')
  t.same(await history(built, payment.id), ['pending', 'canceled'], 'the replay wrote nothing')
})

t.test('every refusal is a problem', async (t) => {
  const built = await build(t)
  const payment = await storePayment(built.deps, { customerId: 'cus_refusals' })

  t.test('an unknown payment is 404', async (t) => {
    assertProblem(t, await cancel(built, 'pay_01JDQ3V0J6Q8ZC7W8E5T0R2N4M'), 404, 'not-found')
  })
  t.test('a malformed id is 400', async (t) => {
    assertProblem(t, await cancel(built, 'pay_nope'), 400, 'validation')
  })
  t.test('no Idempotency-Key is 400, and an invalid one too', async (t) => {
    assertProblem(t, await cancel(built, payment.id, { key: null }), 400, 'idempotency-key-missing')
    assertProblem(t, await cancel(built, payment.id, { key: 'k'.repeat(256) }), 400, 'idempotency-key-invalid')
  })
  t.test('no API key is 401; a read-only key is 403', async (t) => {
    assertProblem(t, await cancel(built, payment.id, { auth: null }), 401, 'unauthorized')
    assertProblem(t, await cancel(built, payment.id, { auth: 'read' }), 403, 'forbidden')
  })
  t.test('the refusals changed nothing', async (t) => {
    t.equal((await built.deps.payments.get(payment.id))?.status, 'pending')
  })
  t.test('a payment no longer pending is 409 payment-not-cancelable, and stays as it is', async (t) => {
    const processing = await built.deps.payments.transition(await storePayment(built.deps), 'processing')
    const problem = assertProblem(t, await cancel(built, processing.id), 409, 'payment-not-cancelable')
    t.match(problem.detail, /is processing/)
    t.equal((await built.deps.payments.get(processing.id))?.status, 'processing')
    t.same(await history(built, processing.id), ['pending', 'processing'])
  })
  t.test('a canceled payment canceled again with a new key is 409', async (t) => {
    const other = await storePayment(built.deps)
    t.equal((await cancel(built, other.id)).statusCode, 200)
    assertProblem(t, await cancel(built, other.id), 409, 'payment-not-cancelable')
  })
  t.test('the same key for another payment is 422, and cancels nothing', async (t) => {
    const [a, b] = [await storePayment(built.deps), await storePayment(built.deps)]
    t.equal((await cancel(built, a.id, { key: 'shared' })).statusCode, 200)
    assertProblem(t, await cancel(built, b.id, { key: 'shared' }), 422, 'idempotency-key-reused')
    t.equal((await built.deps.payments.get(b.id))?.status, 'pending')
  })
  t.test('a key a create used is 422 for a cancel', async (t) => {
    const created = await built.app.inject({ method: 'POST', url: '/v1/payments', headers: { ...bearer(), 'idempotency-key': 'create-then-cancel' }, payload: { amount: 100, currency: 'EUR', customerId: 'cus_refusals' } })
    assertProblem(t, await cancel(built, created.json().id, { key: 'create-then-cancel' }), 422, 'idempotency-key-reused')
    t.equal((await built.deps.payments.get(created.json().id))?.status, 'pending')
  })
})

t.test('a replay on another instance (no cached answer) replays from the stored key, though the payment is no longer pending', async (t) => {
  const built = await build(t)
  const payment = await storePayment(built.deps)
  const first = await cancel(built, payment.id, { key: 'cold-replay' })
  // A second app on the same table: its use-case cache is empty, as on another Lambda instance.
  const other = await build(t, { env: { TABLE_NAME: built.config.tableName, WORK_QUEUE_NAME: built.config.queues.work.name, DEAD_LETTER_QUEUE_NAME: built.config.queues.deadLetter.name } })
  const again = await cancel(other, payment.id, { key: 'cold-replay' })
  t.equal(again.statusCode, 200)
  t.equal(again.headers['idempotent-replayed'], 'true')
  t.same(again.json(), first.json())
  assertProblem(t, await cancel(other, (await storePayment(built.deps)).id, { key: 'cold-replay' }), 422, 'idempotency-key-reused')
})

t.test('concurrent cancels with one key: one cancel, the others replay it or are told it is in flight', async (t) => {
  const metrics = jsonLines()
  const built = await build(t, { deps: { metricsDestination: metrics.sink } })
  const payment = await storePayment(built.deps)
  const responses = await Promise.all(Array.from({ length: 10 }, async () => cancel(built, payment.id, { key: 'same-key' })))
  const fresh = responses.filter((r) => r.statusCode === 200 && r.headers['idempotent-replayed'] === undefined)
  t.equal(fresh.length, 1, 'exactly one canceled it')
  for (const response of responses) {
    if (response.statusCode === 200) t.same(response.json(), fresh[0]?.json())
    else assertProblem(t, response, 409, 'idempotency-key-in-flight')
  }
  t.same(await history(built, payment.id), ['pending', 'canceled'])
  t.equal(metrics.lines.filter((line) => line.PaymentCanceled === 1).length, 1)
})

t.test('cancel vs charge, started together: exactly one wins, and a canceled payment never reaches the provider', async (t) => {
  const built = await build(t)
  const provider = built.deps.provider as SandboxProvider
  const charge = createChargeHandler(withBreaker(built.deps))
  const ITERATIONS = 40
  const outcomes = { canceled: 0, charged: 0 }
  for (let i = 0; i < ITERATIONS; i++) {
    const payment = await storePayment(built.deps, { customerId: 'cus_race' })
    // Alternate which one starts first, so both orders are exercised.
    const runCharge = async () => charge({ type: 'charge', paymentId: payment.id }, sqsRecord('q', '{}'), context())
    const [canceling, charging] = i % 2 === 0
      ? [cancel(built, payment.id), runCharge()]
      : (([charged, canceled]) => [canceled, charged] as const)([runCharge(), cancel(built, payment.id)])
    const [cancelSettled, chargeSettled] = await Promise.allSettled([canceling, charging])
    t.equal(chargeSettled.status, 'fulfilled', 'the charge did not fail')
    if (cancelSettled.status !== 'fulfilled') throw cancelSettled.reason
    const cancelResult = cancelSettled.value
    const stored = await built.deps.payments.get(payment.id)
    const calls = provider.attemptsFor(payment.id)
    if (stored?.status === 'canceled') {
      outcomes.canceled++
      t.equal(cancelResult?.statusCode, 200)
      t.equal(calls, 0, 'a canceled payment was never sent to the provider')
      t.same(await history(built, payment.id), ['pending', 'canceled'])
    } else {
      outcomes.charged++
      t.equal(stored?.status, 'succeeded')
      t.equal(calls, 1, 'charged once')
      t.equal(cancelResult?.statusCode, 409, 'the cancel lost: 409')
      t.same(await history(built, payment.id), ['pending', 'processing', 'succeeded'], 'never both')
    }
  }
  t.equal(outcomes.canceled + outcomes.charged, ITERATIONS)
  t.comment(`cancel won ${outcomes.canceled}, charge won ${outcomes.charged} of ${ITERATIONS}`)
})

t.test('a charge command for a canceled payment is acknowledged without calling the provider', async (t) => {
  const built = await build(t)
  const payment = await storePayment(built.deps)
  t.equal((await cancel(built, payment.id)).statusCode, 200)
  await createChargeHandler(withBreaker(built.deps))({ type: 'charge', paymentId: payment.id }, sqsRecord('q', '{}'), context())
  t.equal((built.deps.provider as SandboxProvider).attemptsFor(payment.id), 0)
  t.equal((await built.deps.payments.get(payment.id))?.status, 'canceled')
})

t.test('a canceled payment leaves the unsettled index, so the sweeper never re-sends its charge', async (t) => {
  const now = new Date()
  const built = await build(t, { deps: { clock: () => now } })
  const createdAt = new Date(now.getTime() - 3_600_000)
  const canceled = await storePayment(built.deps, { createdAt })
  const stuck = await storePayment(built.deps, { createdAt })
  t.equal((await cancel(built, canceled.id)).statusCode, 200)

  const { Item = {} } = await built.deps.dynamodb.send(new GetItemCommand({ TableName: built.config.tableName, Key: marshall(Keys.payment(canceled.id)), ConsistentRead: true }))
  t.notOk('gsi3pk' in Item || 'gsi3sk' in Item, 'no unsettled index key on the canceled payment')
  const { Items = [] } = await built.deps.dynamodb.send(new QueryCommand({
    TableName: built.config.tableName,
    IndexName: 'GSI3',
    KeyConditionExpression: 'gsi3pk = :pk',
    ExpressionAttributeValues: marshall({ ':pk': Keys.unsettledPayment(canceled.createdAt, canceled.id).gsi3pk })
  }))
  t.notOk(Items.some((item) => item.id?.S === canceled.id), 'not in its unsettled shard')

  const sweep = createSweeper(built.deps, { staleAfterMs: 60_000, maxPerRun: 100, maxResends: 5 })
  t.same(await sweep({} as never, context()), { resent: 1, gaveUp: 0, needAttention: 0 }, 'only the payment still pending is re-sent')
  const { Messages = [] } = await built.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: built.config.queues.work.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }))
  t.same(Messages.map((message) => JSON.parse(message.Body ?? '{}').paymentId), [stuck.id])
})

t.test('the outbox relays a payment\'s charge once, on its INSERT: the cancel sends nothing, and the summary counts it canceled', async (t) => {
  const built = await build(t)
  const { deps, workers, config, resources } = built
  const customerId = 'cus_cancel_summary'
  const kept = await storePayment(deps, { customerId, amount: 500 })
  const payment: Payment = await storePayment(deps, { customerId, amount: 1200 })
  t.equal((await cancel(built, payment.id)).statusCode, 200)

  const stream = workers.streams[config.tableName]
  if (stream === undefined) throw new Error('no table-stream worker')
  const records = await streamRecords(config, resources.streamArn)
  t.same(await stream(streamEvent(records), context()), { batchItemFailures: [] })

  const { Messages = [] } = await (await deps.sqs()).send(new ReceiveMessageCommand({ QueueUrl: config.queues.work.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }))
  t.same(Messages.map((message) => JSON.parse(message.Body ?? '{}').paymentId).sort(), [kept.id, payment.id].sort(), 'one charge per INSERT, none for the cancel')
  t.same((await deps.summaries.get(customerId))?.totals, [
    { currency: 'EUR', status: 'canceled', count: 1, amount: 1200 },
    { currency: 'EUR', status: 'pending', count: 1, amount: 500 }
  ], 'the canceled payment moved out of pending')
  // Delivered again (Lambda may): nothing changes.
  t.same(await stream(streamEvent(records), context()), { batchItemFailures: [] })
  t.same((await deps.summaries.get(customerId))?.totals.map((bucket) => `${bucket.status}:${bucket.count}`), ['canceled:1', 'pending:1'])
})

t.test('DynamoDB throttling the cancel past its retries is 503 dependency-throttled with Retry-After, and nothing is written', async (t) => {
  const built = await build(t)
  const payment = await storePayment(built.deps)
  const injection = cancelTransactions(t, built.deps.dynamodb, { reason: 'ThrottlingError' })
  const response = await cancel(built, payment.id, { key: 'throttled' })
  injection.stop()
  assertProblem(t, response, 503, 'dependency-throttled')
  t.ok(response.headers['retry-after'], 'with Retry-After')
  t.ok(injection.injected > 1, `tried ${injection.injected} times`)
  t.equal((await built.deps.payments.get(payment.id))?.status, 'pending')
  t.equal((await cancel(built, payment.id, { key: 'throttled' })).statusCode, 200, 'the same request again cancels it')
})

t.test('a payment that moves between the cancel\'s read and its write is read again, and the cancel answers from what it is now', async (t) => {
  const built = await build(t)
  const payment = await storePayment(built.deps)
  // Forces the interleaving the race test only meets sometimes: the worker's write lands right
  // after the cancel read the payment pending. The write itself is real.
  const get = built.deps.payments.get
  let reads = 0
  built.deps.payments.get = async (id) => {
    const read = await get(id)
    if (++reads === 1 && read !== undefined) await built.deps.payments.transition(read, 'processing')
    return read
  }
  t.teardown(() => { built.deps.payments.get = get })
  const problem = assertProblem(t, await cancel(built, payment.id), 409, 'payment-not-cancelable')
  t.match(problem.detail, /is processing/)
  t.equal(reads, 2, 'read again after the conditional write failed')
  t.same(await history(built, payment.id), ['pending', 'processing'])
})
