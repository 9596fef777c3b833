import t from 'tap'
import { classify, readStripeRow, type SettlementRow } from '../../../src/domain/settlements/reconcile.js'

const STRIPE = { balance_transaction_id: 'txn_1', created_utc: '2026-11-27 10:00:00', currency: 'jpy', gross: '1000', fee: '36', net: '964', reporting_category: 'charge', payment_intent_id: 'pi_1' }

t.test('a Stripe row reads its lower-case currency and decimal amounts exactly', async (t) => {
  t.match(readStripeRow(STRIPE, 2), { line: 2, rowKey: 'txn_1', providerRef: 'pi_1', type: 'charge', amount: 1000, fee: 36, currency: 'JPY', settledAt: '2026-11-27 10:00:00' })
  t.match(readStripeRow({ ...STRIPE, currency: 'usd', gross: '-12.30', fee: '0.00', reporting_category: 'refund', 'payment_metadata[paymentId]': 'pay_1' }, 3), { type: 'refund', amount: 1230, fee: 0, paymentId: 'pay_1' })
})

t.test('a Stripe row that does not read says every reason', async (t) => {
  t.match(readStripeRow({ ...STRIPE, currency: 'eur', gross: '10.005', fee: 'x' }, 4), { line: 4, error: /gross must be a decimal amount with at most 2 decimals in EUR.*fee must be/ })
  t.match(readStripeRow({ ...STRIPE, reporting_category: 'charge', balance_transaction_id: '', payment_intent_id: '' }, 5), { error: /^balance_transaction_id is required; payment_intent_id or payment_metadata\[paymentId\] is required for a charge$/ })
  t.match(readStripeRow({ ...STRIPE, reporting_category: '' }, 5), { error: /^reporting_category is required$/ })
  t.match(readStripeRow({ ...STRIPE, currency: 'xxx' }, 6), { error: /currency must be an ISO 4217 code/ })
})

t.test('a Stripe row of a category paylith keeps no record of reads as `other`, signed, and needs no payment', async (t) => {
  const dispute = readStripeRow({ ...STRIPE, currency: 'eur', gross: '-10.00', fee: '15.00', reporting_category: 'dispute' }, 7)
  t.match(dispute, { line: 7, rowKey: 'txn_1', type: 'other', category: 'dispute', amount: -1000, fee: 1500, currency: 'EUR', providerRef: 'pi_1' })
  const fee = readStripeRow({ ...STRIPE, currency: 'eur', gross: '-2.00', fee: '0', reporting_category: 'fee', payment_intent_id: '' }, 8)
  t.match(fee, { type: 'other', category: 'fee', amount: -200 })
  t.notOk('paymentId' in fee || 'providerRef' in fee, 'a Stripe fee names no payment')
  t.same(classify(dispute as SettlementRow, { amount: 1000, currency: 'EUR', status: 'succeeded' }), { classification: 'not_reconciled', reason: 'reporting_category dispute: paylith keeps no record of these; counted in the totals' })
  t.equal(classify(fee as SettlementRow, undefined).classification, 'not_reconciled', 'whatever payment it names, or none')
})

t.test('a refund is matched against a refunded payment and not above its amount', async (t) => {
  const refund: SettlementRow = { line: 2, rowKey: 'k', paymentId: 'pay_1', type: 'refund', amount: 50, fee: 0, currency: 'EUR' }
  t.equal(classify(refund, { amount: 100, currency: 'EUR', status: 'refunded' }).classification, 'matched')
  t.equal(classify(refund, { amount: 100, currency: 'EUR', status: 'succeeded' }).classification, 'status_mismatch')
  t.equal(classify({ ...refund, amount: 150 }, { amount: 100, currency: 'EUR', status: 'refunded' }).classification, 'amount_mismatch')
})

t.test('a charge is matched against a succeeded or since refunded payment of the same amount', async (t) => {
  const charge: SettlementRow = { line: 2, rowKey: 'k', paymentId: 'pay_1', type: 'charge', amount: 100, fee: 3, currency: 'EUR' }
  t.equal(classify(charge, { amount: 100, currency: 'EUR', status: 'refunded' }).classification, 'matched')
  t.equal(classify(charge, { amount: 100, currency: 'EUR', status: 'failed' }).classification, 'status_mismatch')
  t.equal(classify(charge, undefined).classification, 'unknown_payment')
})
