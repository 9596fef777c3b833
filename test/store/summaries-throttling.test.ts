import t from 'tap'
import type { Payment } from '../../src/domain/payment.js'
import { MetricName } from '../../src/observability/metrics.js'
import { build } from '../helpers/build.js'
import { cancelTransactions, conflictWrites } from '../helpers/faults.js'
import { jsonLines } from '../helpers/lines.js'

const base: Payment = { id: 'pay_T', status: 'pending', amount: 1000, currency: 'EUR', customerId: 'cus_throttled', version: 1, createdAt: '2026-11-27T10:00:00.000Z', updatedAt: '2026-11-27T10:00:00.000Z' }
const at = (version: number, status: Payment['status']): Payment => ({ ...base, version, status })

t.test('a summary write DynamoDB throttles is tried again with backoff, counts once, and is counted in the metric', async (t) => {
  const metrics = jsonLines()
  const { deps } = await build(t, { deps: { metricsDestination: metrics.sink } })
  const throttling = cancelTransactions(t, deps.dynamodb, { times: 2, item: 1 })

  t.equal(await deps.summaries.apply(at(1, 'pending'), null), true)
  deps.metrics.flush()

  t.equal(throttling.injected, 2)
  t.same((await deps.summaries.get('cus_throttled'))?.totals, [{ currency: 'EUR', status: 'pending', count: 1, amount: 1000 }])
  t.same(metrics.lines.filter((document) => document[MetricName.dynamoDbThrottled] === 1).map(({ operation, reason, outcome }) => [operation, reason, outcome]), [
    ['summaries.apply', 'ThrottlingError', 'retried'],
    ['summaries.apply', 'ThrottlingError', 'retried']
  ])
})

t.test('a summary DynamoDB keeps throttling is refused as throttled, counts nothing, and converges when delivered again', async (t) => {
  const { deps } = await build(t)
  await deps.summaries.apply(at(1, 'pending'), null)
  const throttling = cancelTransactions(t, deps.dynamodb)

  await t.rejects(deps.summaries.apply(at(2, 'processing'), at(1, 'pending')), { name: 'DependencyThrottledError', data: { operation: 'summaries.apply', reason: 'ThrottlingError' } }, 'the fast path gives up as throttled, not as a race')
  await t.rejects(deps.summaries.apply(at(3, 'succeeded'), at(2, 'processing')), { name: 'DependencyThrottledError' }, 'and so does the read path after it')
  t.ok(throttling.injected <= 8, 'a few tries each, not an unbounded loop')

  throttling.stop()
  t.same((await deps.summaries.get('cus_throttled'))?.totals, [{ currency: 'EUR', status: 'pending', count: 1, amount: 1000 }], 'nothing half-counted')
  t.equal(await deps.summaries.apply(at(2, 'processing'), at(1, 'pending')), true, 'redelivered')
  t.equal(await deps.summaries.apply(at(3, 'succeeded'), at(2, 'processing')), true)
  t.same((await deps.summaries.get('cus_throttled'))?.totals, [{ currency: 'EUR', status: 'succeeded', count: 1, amount: 1000 }])
})

t.test('a transaction conflict on the summary is tried again, and so is the last-payment time meeting one', async (t) => {
  const { deps } = await build(t)
  const conflicts = cancelTransactions(t, deps.dynamodb, { reason: 'TransactionConflict', times: 1, item: 1 })
  const lastPayment = conflictWrites(t, deps.dynamodb, 'UpdateItemCommand', { times: 1 })

  t.equal(await deps.summaries.apply(at(1, 'pending'), null), true)

  t.equal(conflicts.injected, 1)
  t.equal(lastPayment.injected, 1)
  t.same(await deps.summaries.get('cus_throttled'), {
    customerId: 'cus_throttled',
    totals: [{ currency: 'EUR', status: 'pending', count: 1, amount: 1000 }],
    refunded: [],
    lastPaymentAt: base.createdAt
  })
})

t.test('a version race is read again, not taken for throttling', async (t) => {
  const { deps } = await build(t)
  await deps.summaries.apply(at(1, 'pending'), null)
  await deps.summaries.apply(at(2, 'processing'), at(1, 'pending'))
  const throttling = cancelTransactions(t, deps.dynamodb, { times: 0 })

  // It claims to replace version 1, but version 2 is counted: the condition fails, it reads and goes on from version 2.
  t.equal(await deps.summaries.apply(at(3, 'succeeded'), at(1, 'pending')), true)

  t.equal(throttling.passed, 2, 'the raced write, then the one after the read')
  t.same((await deps.summaries.get('cus_throttled'))?.totals, [{ currency: 'EUR', status: 'succeeded', count: 1, amount: 1000 }])
})
