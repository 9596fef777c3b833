import t from 'tap'
import { newIdempotencyRecord, requestFingerprint } from '../../src/domain/idempotency.js'
import { idempotencyItem, toIdempotencyRecord } from '../../src/store/idempotency.js'
import { Keys, toItem } from '../../src/store/table.js'

const record = newIdempotencyRecord(
  { scope: 'key_1', key: 'order "1001", ünïcode', fingerprint: requestFingerprint({ amount: 1999, currency: 'EUR' }) },
  { resourceId: 'pay_01M8JY5D6ZN26NQ2DNAS1KSW13', statusCode: 201, body: JSON.stringify({ id: 'pay_01M8JY5D6ZN26NQ2DNAS1KSW13', amount: 1999 }) },
  new Date('2026-11-29T06:00:00.000Z'),
  86_400
)

t.test('an idempotency record is stored as exactly what the generic mapping makes of it, attribute for attribute and in the same order', async (t) => {
  const item = idempotencyItem(record)
  const generic = toItem(Keys.idempotency(record.scope, record.key), record)
  t.same(item, generic)
  t.equal(JSON.stringify(item), JSON.stringify(generic), 'the same request bytes')
})

t.test('a stored record reads back as the record', async (t) => {
  t.same(toIdempotencyRecord(idempotencyItem(record)), record)
})

t.test('an empty scope is stored as an empty string, as the generic mapping does', async (t) => {
  const unscoped = { ...record, scope: '' }
  t.same(idempotencyItem(unscoped), toItem(Keys.idempotency('', record.key), unscoped))
})

t.test('a record written before resourceId existed reads its paymentId as its resourceId', async (t) => {
  const { resourceId, ...rest } = record
  const legacy = toItem(Keys.idempotency(record.scope, record.key), { ...rest, paymentId: resourceId })
  t.notOk('resourceId' in legacy, 'the item as it was written')
  t.same(toIdempotencyRecord(legacy), record)
  t.notOk('paymentId' in toIdempotencyRecord(legacy), 'the old name is not carried on')
})
