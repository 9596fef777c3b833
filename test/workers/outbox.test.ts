import t from 'tap'
import type { Payment } from '../../src/domain/payment.js'
import type { Refund } from '../../src/domain/refund.js'
import type { WorkCommand } from '../../src/queue/commands.js'
import { createLogger } from '../../src/observability/logger.js'
import type { SummaryStore } from '../../src/store/summaries.js'
import { Keys, toItem } from '../../src/store/table.js'
import { createPaymentChangeHandler } from '../../src/workers/outbox.js'
import { streamRecord } from '../helpers/events.js'

const logger = createLogger({ logLevel: 'silent' })
const noSends = { send: async () => { throw new Error('no command expected') } }

/** A payment's stream image as the store writes it: an unsettled payment carries the keys of the table, GSI1 and GSI3. */
function paymentImage (payment: Payment) {
  return toItem({ ...Keys.payment(payment.id), ...Keys.paymentByCustomer(payment.customerId, payment.createdAt, payment.id), ...Keys.unsettledPayment(payment.createdAt, payment.id) }, payment)
}

t.test('a payment change reaches the summary as the payment alone, without any key attribute', async (t) => {
  const payment: Payment = { id: 'pay_1', status: 'processing', amount: 500, currency: 'EUR', customerId: 'cus_1', version: 2, createdAt: '2026-11-27T10:00:00.000Z', updatedAt: '2026-11-27T10:00:01.000Z' }
  const applied: Payment[] = []
  const summaries: SummaryStore = { apply: async (p) => { applied.push(p); return true }, get: async () => undefined }
  const handler = createPaymentChangeHandler({ workQueue: noSends, summaries, logger })
  const { pk, sk } = Keys.payment(payment.id)
  await handler(streamRecord('t', { pk, sk, eventName: 'MODIFY', sequenceNumber: '1', newImage: paymentImage(payment) }))
  t.same(applied, [payment])
})

t.test('an update that made no new version (attention, re-sends) is neither relayed nor counted', async (t) => {
  const payment: Payment = { id: 'pay_3', status: 'pending', amount: 500, currency: 'EUR', customerId: 'cus_1', version: 1, createdAt: '2026-11-27T10:00:00.000Z', updatedAt: '2026-11-27T10:00:00.000Z' }
  const calls: string[] = []
  const summaries: SummaryStore = { apply: async () => { calls.push('apply'); return true }, get: async () => undefined }
  const handler = createPaymentChangeHandler({ workQueue: noSends, summaries, logger })
  const { pk, sk } = Keys.payment(payment.id)
  const record = streamRecord('t', { pk, sk, eventName: 'MODIFY', sequenceNumber: '1', newImage: paymentImage({ ...payment, resends: { count: 1, nextAt: '2026-11-27T10:30:00.000Z' } }) })
  record.dynamodb = { ...record.dynamodb, OldImage: paymentImage(payment) as NonNullable<typeof record.dynamodb>['OldImage'] }
  await handler(record)
  t.same(calls, [])
})

t.test('a new pending payment is relayed to the work queue as its charge command', async (t) => {
  const payment: Payment = { id: 'pay_2', status: 'pending', amount: 500, currency: 'EUR', customerId: 'cus_1', version: 1, createdAt: '2026-11-27T10:00:00.000Z', updatedAt: '2026-11-27T10:00:00.000Z' }
  const sent: WorkCommand[] = []
  const summaries: SummaryStore = { apply: async () => true, get: async () => undefined }
  const handler = createPaymentChangeHandler({ workQueue: { send: async (command) => { sent.push(command) } }, summaries, logger })
  const { pk, sk } = Keys.payment(payment.id)
  await handler(streamRecord('t', { pk, sk, eventName: 'INSERT', sequenceNumber: '1', newImage: paymentImage(payment) }))
  t.same(sent, [{ type: 'charge', paymentId: 'pay_2' }])
})

t.test('a payment history event is not a payment change: nothing is sent or counted', async (t) => {
  const calls: string[] = []
  const summaries: SummaryStore = { apply: async () => { calls.push('apply'); return true }, get: async () => undefined }
  const handler = createPaymentChangeHandler({ workQueue: { send: async () => { calls.push('send') } }, summaries, logger })
  const { pk, sk } = Keys.paymentEvent('pay_3', 1)
  await handler(streamRecord('t', { pk, sk, eventName: 'INSERT', sequenceNumber: '1', newImage: toItem(Keys.paymentEvent('pay_3', 1), { paymentId: 'pay_3', status: 'pending', version: 1 }) }))
  t.same(calls, [])
})

t.test('a new pending refund is relayed as its refund command; its end, and a refund the provider told of, are not', async (t) => {
  const refund: Refund = { id: 're_1', paymentId: 'pay_9', amount: 100, currency: 'EUR', status: 'pending', createdAt: '2026-11-27T10:00:00.000Z', updatedAt: '2026-11-27T10:00:00.000Z' }
  const sent: WorkCommand[] = []
  const summaries: SummaryStore = { apply: async () => { throw new Error('a refund is not counted as a payment') }, get: async () => undefined }
  const handler = createPaymentChangeHandler({ workQueue: { send: async (command) => { sent.push(command) } }, summaries, logger })
  const { pk, sk } = Keys.refund(refund.paymentId, refund.id)
  await handler(streamRecord('t', { pk, sk, eventName: 'INSERT', sequenceNumber: '1', newImage: toItem({ pk, sk }, refund) }))
  await handler(streamRecord('t', { pk, sk, eventName: 'MODIFY', sequenceNumber: '2', newImage: toItem({ pk, sk }, { ...refund, status: 'succeeded' }) }))
  const external = Keys.refund(refund.paymentId, 're_2')
  await handler(streamRecord('t', { ...external, eventName: 'INSERT', sequenceNumber: '3', newImage: toItem(external, { ...refund, id: 're_2', status: 'succeeded', origin: 'provider' }) }))
  t.same(sent, [{ type: 'refund', paymentId: 'pay_9', refundId: 're_1' }])
})
