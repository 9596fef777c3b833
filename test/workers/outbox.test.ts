import type { SQSClient } from '@aws-sdk/client-sqs'
import t from 'tap'
import type { Payment } from '../../src/domain/payment.js'
import { createLogger } from '../../src/observability/logger.js'
import type { SummaryStore } from '../../src/store/summaries.js'
import { Keys, toItem } from '../../src/store/table.js'
import { createPaymentChangeHandler } from '../../src/workers/outbox.js'
import { streamRecord } from '../helpers/events.js'

const logger = createLogger({ logLevel: 'silent' })

t.test('a payment change reaches the summary as the payment alone, without any key attribute', async (t) => {
  const payment: Payment = { id: 'pay_1', status: 'processing', amount: 500, currency: 'EUR', customerId: 'cus_1', version: 2, createdAt: '2026-11-27T10:00:00.000Z', updatedAt: '2026-11-27T10:00:01.000Z' }
  const applied: Payment[] = []
  const summaries: SummaryStore = { apply: async (p) => { applied.push(p); return true }, get: async () => undefined }
  const handler = createPaymentChangeHandler({ sqs: {} as SQSClient, workQueueUrl: 'unused', summaries, logger })
  const { pk, sk } = Keys.payment(payment.id)
  // An unsettled payment carries the keys of the table, GSI1 and GSI2.
  const image = toItem({ ...Keys.payment(payment.id), ...Keys.paymentByCustomer(payment.customerId, payment.createdAt, payment.id), ...Keys.unsettledPayment(payment.createdAt, payment.id) }, payment)
  await handler(streamRecord('t', { pk, sk, eventName: 'MODIFY', sequenceNumber: '1', newImage: image }))
  t.same(applied, [payment])
})
