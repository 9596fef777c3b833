import t from 'tap'
import { TABLE } from '../../src/aws/resources.js'
import { ItemKind, Keys, fromItem, isPaymentKey, itemKindOf, toItem } from '../../src/store/table.js'

const keyAttributes = [TABLE.partitionKey, TABLE.sortKey, TABLE.gsi1.partitionKey, TABLE.gsi1.sortKey, TABLE.gsi2.partitionKey, TABLE.gsi2.sortKey]

t.test('an entity stored with keys of the table and both indexes comes back without any of them', async (t) => {
  const entity = { id: 'pay_1', customerId: 'cus_1', createdAt: '2026-11-27T10:00:00.000Z', amount: 100 }
  const item = toItem({
    ...Keys.payment(entity.id),
    ...Keys.paymentByCustomer(entity.customerId, entity.createdAt, entity.id),
    ...Keys.unsettledPayment(entity.createdAt, entity.id)
  }, entity)
  t.same(Object.keys(item).filter((name) => keyAttributes.includes(name as never)).sort(), [...keyAttributes].sort(), 'stored with every key')
  t.same(fromItem(item), entity)
})

t.test('undefined attributes are left out of the stored item', async (t) => {
  t.same(Object.keys(toItem(Keys.webhookEvent('stripe', 'evt_1'), { a: 1, b: undefined })).sort(), ['a', TABLE.partitionKey, TABLE.sortKey].sort())
})

t.test('client data whose keys are Object.prototype names is stored and read back as it was', async (t) => {
  // Found by the route fuzz test: metadata { "constructor": "x" } made the marshaller throw (a 500).
  const entity = { id: 'pay_1', metadata: { constructor: 'x', toString: 'y', hasOwnProperty: 'z' } }
  t.same(fromItem(toItem(Keys.payment('pay_1'), entity)), entity)
})

t.test('every key names its item kind before the first #', async (t) => {
  t.equal(itemKindOf(Keys.payment('pay_1').pk), ItemKind.payment)
  t.equal(itemKindOf(Keys.paymentEvent('pay_1', 2).pk), ItemKind.payment)
  t.equal(itemKindOf(Keys.webhookEvent('stripe', 'evt_1').pk), ItemKind.webhook)
  t.equal(itemKindOf(Keys.idempotency('key_1', 'k').pk), ItemKind.idempotency)
  t.equal(itemKindOf(Keys.customerSummary('cus_1').pk), ItemKind.customer)
  t.equal(itemKindOf(Keys.deadLetter('m1').pk), ItemKind.deadLetter)
})

t.test('a payment key is the payment item, not one of its history events', async (t) => {
  t.ok(isPaymentKey(Keys.payment('pay_1')))
  t.notOk(isPaymentKey(Keys.paymentEvent('pay_1', 1)))
})
