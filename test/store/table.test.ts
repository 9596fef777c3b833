import t from 'tap'
import { ulid } from 'ulid'
import { TABLE } from '../../src/aws/resources.js'
import { ItemKind, Keys, UNSETTLED_SHARDS, fromItem, isPaymentKey, itemKindOf, toItem, unsettledPartition, unsettledPartitions, unsettledShard } from '../../src/store/table.js'

const keyAttributes = [TABLE.partitionKey, TABLE.sortKey, TABLE.gsi1.partitionKey, TABLE.gsi1.sortKey, TABLE.gsi2.partitionKey, TABLE.gsi2.sortKey, TABLE.gsi3.partitionKey, TABLE.gsi3.sortKey]

t.test('an entity stored with keys of the table and every index comes back without any of them', async (t) => {
  const entity = { id: 'pay_1', customerId: 'cus_1', createdAt: '2026-11-27T10:00:00.000Z', amount: 100 }
  const item = toItem({
    ...Keys.payment(entity.id),
    ...Keys.paymentByCustomer(entity.customerId, entity.createdAt, entity.id),
    ...Keys.unsettledPayment(entity.createdAt, entity.id),
    ...Keys.deadLetterByPayment(entity.id, entity.createdAt, 'message-1')
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

/** Payment ids as the service makes them (`pay_` + ULID), from a seeded generator so the test is the same every run. */
function paymentIds (count: number, seed: number): string[] {
  let state = seed
  const random = () => {
    // mulberry32
    state = (state + 0x6d2b79f5) | 0
    let x = Math.imul(state ^ (state >>> 15), 1 | state)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4_294_967_296
  }
  const start = Date.parse('2026-11-27T00:00:00.000Z')
  // One day's creates, a few milliseconds apart: ids that share long prefixes.
  return Array.from({ length: count }, (_, i) => `pay_${ulid(start + i * 40, random)}`)
}

t.test('2,000 payments of one day spread over every unsettled shard, each within 25 % of the mean', async (t) => {
  const counts = new Array<number>(UNSETTLED_SHARDS).fill(0)
  for (const id of paymentIds(2_000, 13)) counts[unsettledShard(id)] = (counts[unsettledShard(id)] ?? 0) + 1
  const mean = 2_000 / UNSETTLED_SHARDS
  t.equal(counts.length, UNSETTLED_SHARDS)
  for (const [shard, count] of counts.entries()) {
    t.ok(Math.abs(count - mean) <= 0.25 * mean, `shard ${shard}: ${count} payments (mean ${mean})`)
  }
  t.ok(Math.max(...counts) / mean <= 1.25, `the busiest shard takes ${(Math.max(...counts) / mean).toFixed(2)}× the mean, where one key per day took ${UNSETTLED_SHARDS}×`)
})

t.test('a payment\'s shard depends on its id alone: the same every time, whatever its creation time', async (t) => {
  const id = 'pay_01JDQ3M4ZK8Y6W2V7N5R9T0XBC'
  t.equal(unsettledShard(id), unsettledShard(id))
  t.ok(unsettledShard(id) >= 0 && unsettledShard(id) < UNSETTLED_SHARDS)
  const morning = Keys.unsettledPayment('2026-11-27T08:00:00.000Z', id)
  const evening = Keys.unsettledPayment('2026-11-27T20:00:00.000Z', id)
  t.equal(morning[TABLE.gsi3.partitionKey], evening[TABLE.gsi3.partitionKey], 'one partition key for the day')
  t.equal(morning[TABLE.gsi3.partitionKey], unsettledPartition('2026-11-27', unsettledShard(id)))
  t.match(morning[TABLE.gsi3.partitionKey], /^UNSETTLED#2026-11-27#\d\d$/)
  t.equal(morning[TABLE.gsi3.sortKey], `2026-11-27T08:00:00.000Z#${id}`)
})

t.test('a day\'s unsettled partitions are every GSI3 shard plus GSI2\'s unsharded one of before', async (t) => {
  const partitions = unsettledPartitions('2026-11-27')
  t.equal(partitions.length, UNSETTLED_SHARDS + 1)
  t.same(partitions.filter((p) => p.index === TABLE.gsi3.name).map((p) => p.partition), Array.from({ length: UNSETTLED_SHARDS }, (_, shard) => unsettledPartition('2026-11-27', shard)))
  t.same(partitions.filter((p) => p.index === TABLE.gsi2.name), [{ index: 'GSI2', partitionKey: 'gsi2pk', sortKey: 'gsi2sk', partition: 'UNSETTLED#2026-11-27' }])
})
