import t from 'tap'
import { createApplyWebhookHandler } from '../../src/workers/apply-webhook.js'
import { build } from '../helpers/build.js'
import { storePayment } from '../helpers/payments.js'
import { sqsRecord } from '../helpers/events.js'

async function succeededPayment (t: Parameters<typeof build>[0]) {
  const { deps } = await build(t)
  const payment = await storePayment(deps, { customerId: 'cus_refund', amount: 2000 })
  const succeeded = await deps.payments.transition(await deps.payments.transition(payment, 'processing'), 'succeeded', { providerRef: `pi_${payment.id}` })
  const apply = async (eventId: string, type: string, amountRefunded: number) => {
    await deps.webhooks.recordOnce({ provider: 'stripe', eventId, providerType: 'charge.refunded', type: type as never, paymentId: payment.id, providerRef: `pi_${payment.id}`, amountRefunded, payload: new Uint8Array(), receivedAt: new Date().toISOString(), expiresAt: Math.floor(Date.now() / 1000) + 3600 })
    await createApplyWebhookHandler(deps)({ type: 'apply-webhook', provider: 'stripe', eventId }, sqsRecord('q', '{}'), undefined)
  }
  return { deps, payment: succeeded, apply }
}

t.test('a partial charge.refunded leaves the payment as it is: the refund\'s own event records its amount', async (t) => {
  const { deps, payment, apply } = await succeededPayment(t)
  await apply('evt_partial', 'payment.partially_refunded', 500)
  t.equal((await deps.payments.get(payment.id))?.status, 'succeeded')
})

t.test('a full refund moves it to refunded', async (t) => {
  const { deps, payment, apply } = await succeededPayment(t)
  await apply('evt_full', 'payment.refunded', 2000)
  t.equal((await deps.payments.get(payment.id))?.status, 'refunded')
})
