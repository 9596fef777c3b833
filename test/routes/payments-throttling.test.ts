import t from 'tap'
import { MetricName } from '../../src/observability/metrics.js'
import { DEFAULT_TRANSIENT_RETRY } from '../../src/store/transient.js'
import { build, bearer, type Built } from '../helpers/build.js'
import { cancelTransactions } from '../helpers/faults.js'
import { jsonLines } from '../helpers/lines.js'

// DynamoDB cancels a TransactWriteItems with reason ThrottlingError while an on-demand table or
// index scales (ProvisionedThroughputExceeded on provisioned capacity); the SDK does not retry a
// TransactionCanceledException, and DynamoDB Local never throttles: the faults are injected.

const request = (key: string, customerId: string) => ({
  method: 'POST' as const,
  url: '/v1/payments',
  headers: { ...bearer(), 'idempotency-key': key },
  payload: { amount: 1999, currency: 'EUR', customerId }
})

async function buildWithMetrics (t: Parameters<typeof build>[0]): Promise<Built & { throttled: () => Array<Record<string, unknown>> }> {
  const metrics = jsonLines()
  const built = await build(t, { deps: { metricsDestination: metrics.sink } })
  const throttled = (): Array<Record<string, unknown>> => metrics.lines
    .filter((document) => document[MetricName.dynamoDbThrottled] !== undefined)
    .map(({ operation, reason, outcome }) => ({ operation, reason, outcome }))
  return { ...built, throttled }
}

async function listed (built: Built, customerId: string): Promise<unknown[]> {
  const response = await built.app.inject({ method: 'GET', url: `/v1/payments?customerId=${customerId}`, headers: bearer() })
  return response.json().data
}

t.test('POST /v1/payments under passing throttling creates the payment after retries, and counts each refusal', async (t) => {
  const built = await buildWithMetrics(t)
  const throttling = cancelTransactions(t, built.deps.dynamodb, { reason: 'ThrottlingError', times: 2, item: 1 })

  const response = await built.app.inject(request('throttled-twice', 'cus_throttled_twice'))

  t.equal(response.statusCode, 201)
  t.equal(throttling.injected, 2, 'the SDK does not retry a cancelled transaction: each cancellation is ours to retry')
  t.equal(throttling.passed, 1)
  t.same(built.throttled(), [
    { operation: 'payments.create', reason: 'ThrottlingError', outcome: 'retried' },
    { operation: 'payments.create', reason: 'ThrottlingError', outcome: 'retried' }
  ])
  t.equal((await listed(built, 'cus_throttled_twice')).length, 1)
})

t.test('POST /v1/payments under provisioned-throughput cancellations retries them too', async (t) => {
  const built = await buildWithMetrics(t)
  cancelTransactions(t, built.deps.dynamodb, { reason: 'ProvisionedThroughputExceeded', times: 1 })

  const response = await built.app.inject(request('provisioned', 'cus_provisioned'))

  t.equal(response.statusCode, 201)
  t.same(built.throttled(), [{ operation: 'payments.create', reason: 'ProvisionedThroughputExceeded', outcome: 'retried' }])
})

t.test('POST /v1/payments under persistent throttling answers 503 with Retry-After and writes nothing; the same request succeeds later', async (t) => {
  const built = await buildWithMetrics(t)
  const throttling = cancelTransactions(t, built.deps.dynamodb)
  const started = Date.now()

  const refused = await built.app.inject(request('throttled-for-good', 'cus_throttled'))

  t.ok(Date.now() - started < DEFAULT_TRANSIENT_RETRY.budgetMs + 500, 'gives up within its time budget')
  t.equal(refused.statusCode, 503)
  t.match(refused.headers['content-type'], /^application\/problem\+json/)
  t.equal(refused.headers['retry-after'], String(DEFAULT_TRANSIENT_RETRY.retryAfterSeconds))
  t.match(refused.json(), {
    type: 'https://paylith.dev/problems/dependency-throttled',
    title: 'Service Busy',
    status: 503,
    code: 'PAYLITH_DEPENDENCY_THROTTLED',
    detail: /nothing was written/
  })
  t.notMatch(refused.json().detail, /cus_|pay_/, 'no internals beyond what the client sent')
  t.ok(throttling.injected > 1 && throttling.injected <= DEFAULT_TRANSIENT_RETRY.attempts, `tried ${throttling.injected} times, a few`)
  const counted = built.throttled()
  t.equal(counted.length, throttling.injected)
  t.same(counted.at(-1), { operation: 'payments.create', reason: 'ThrottlingError', outcome: 'gave-up' })
  t.same(await listed(built, 'cus_throttled'), [], 'no payment, half-written or whole')

  throttling.stop()
  const retried = await built.app.inject(request('throttled-for-good', 'cus_throttled'))
  t.equal(retried.statusCode, 201, 'the key was never taken')
  t.equal(retried.headers['idempotent-replayed'], undefined, 'a new payment, not a replay')
  t.equal((await listed(built, 'cus_throttled')).length, 1)
})

t.test('a read the SDK gave up on for throttling is a 503 dependency-throttled with Retry-After on any route, not a 500', async (t) => {
  const built = await build(t)
  const { ProvisionedThroughputExceededException } = await import('@aws-sdk/client-dynamodb')
  // Above the SDK's retry step, so this stands for a throttle that outlasted its retries.
  built.deps.dynamodb.middlewareStack.add((next, context) => async (args) => {
    if (context.commandName === 'QueryCommand') {
      throw new ProvisionedThroughputExceededException({ message: 'The level of configured provisioned throughput for the table was exceeded (injected by the test)', $metadata: { httpStatusCode: 400 } })
    }
    return next(args)
  }, { step: 'initialize', name: 'throttleQueries' })
  t.teardown(() => { built.deps.dynamodb.middlewareStack.remove('throttleQueries') })

  const response = await built.app.inject({ method: 'GET', url: '/v1/payments?customerId=cus_read_throttled', headers: bearer() })

  t.equal(response.statusCode, 503)
  t.equal(response.headers['retry-after'], '1')
  t.match(response.json(), { type: 'https://paylith.dev/problems/dependency-throttled', status: 503, detail: /ProvisionedThroughputExceededException/ })
})
