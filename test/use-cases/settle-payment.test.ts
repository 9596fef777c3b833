import t from 'tap'
import { settlePayment } from '../../src/use-cases/settle-payment.js'
import { build } from '../helpers/build.js'
import { storePayment } from '../helpers/payments.js'

t.test('a stale copy (the payment moved on meanwhile) is read again and still settled', async (t) => {
  const { deps } = await build(t)
  const stale = await storePayment(deps, { customerId: 'cus_settle' })
  await deps.payments.transition(stale, 'processing')

  const settled = await settlePayment(deps, stale, 'succeeded', { providerRef: 'pi_settle' })
  t.match(settled, { status: 'succeeded', version: 3, providerRef: 'pi_settle' })
  t.match(await deps.payments.history(stale.id), [{ status: 'pending' }, { status: 'processing' }, { status: 'succeeded', previousStatus: 'processing' }])
})

t.test('a late event for a payment already past it changes nothing and is not an error', async (t) => {
  const { deps } = await build(t)
  const payment = await storePayment(deps, { customerId: 'cus_settle_late' })
  const failed = await deps.payments.transition(payment, 'failed', { reason: 'card_declined' })

  t.same(await settlePayment(deps, failed, 'succeeded'), failed)
  t.equal((await deps.payments.history(payment.id))?.length, 2, 'no new history entry')
})
