import t from 'tap'
import { build } from '../helpers/build.js'
import { cancelTransactions } from '../helpers/faults.js'
import { storePayment } from '../helpers/payments.js'

const input = { amount: 500, currency: 'EUR', customerId: 'cus_store_throttled' }

t.test('a transition DynamoDB throttles, or that meets another transaction, is tried again and applied once', async (t) => {
  const { deps } = await build(t)
  const payment = await storePayment(deps, input)
  const throttling = cancelTransactions(t, deps.dynamodb, { times: 1 })
  cancelTransactions(t, deps.dynamodb, { reason: 'TransactionConflict', times: 1 })

  const moved = await deps.payments.transition(payment, 'processing')

  t.equal(throttling.injected, 1)
  t.equal(moved.version, 2)
  t.match(await deps.payments.get(payment.id), { status: 'processing', version: 2 })
  t.equal((await deps.payments.history(payment.id))?.length, 2, 'one history entry for the one move')
})

t.test('a transition DynamoDB keeps throttling is refused as throttled, and the payment is left as it was', async (t) => {
  const { deps } = await build(t)
  const payment = await storePayment(deps, input)
  const throttling = cancelTransactions(t, deps.dynamodb, { reason: 'ProvisionedThroughputExceeded' })

  await t.rejects(deps.payments.transition(payment, 'processing'), {
    name: 'DependencyThrottledError',
    code: 'PAYLITH_DEPENDENCY_THROTTLED',
    data: { dependency: 'dynamodb', operation: 'payments.transition', reason: 'ProvisionedThroughputExceeded' }
  })

  throttling.stop()
  t.match(await deps.payments.get(payment.id), { status: 'pending', version: 1 })
  t.equal((await deps.payments.history(payment.id))?.length, 1)
  t.equal((await deps.payments.transition(payment, 'processing')).version, 2, 'the same move succeeds once DynamoDB takes it')
})
