import { createHash } from 'node:crypto'
import t from 'tap'
import { decodeShardCursor, encodeShardCursor } from '../../src/store/cursor.js'

const SORT_KEY = '2026-11-27T10:00:00.000Z#pay_01JDQ3V0J6Q8ZC7W8E5T0R2N4M'
/** A cursor with a valid checksum over any payload: the checksum is not a secret, so the content is checked too. */
const forged = (positions: unknown, listing = 'payments'): string => {
  const payload = Buffer.from(JSON.stringify(positions)).toString('base64url')
  return `${payload}.${createHash('sha256').update(`${listing}\n${payload}`).digest('base64url').slice(0, 16)}`
}

t.test('a shard cursor reads back as it was written, for its own listing only', async (t) => {
  const positions = [{ sortKey: SORT_KEY, inclusive: true }, null, { sortKey: SORT_KEY, inclusive: false }]
  const cursor = encodeShardCursor(positions, 'payments')
  t.same(decodeShardCursor(cursor, 'payments', 3), positions)
  t.throws(() => decodeShardCursor(cursor, 'payments:status=pending', 3), { name: 'InvalidCursorError' })
  t.throws(() => decodeShardCursor(`${cursor}.x`, 'payments', 3), { name: 'InvalidCursorError' })
})

t.test('a forged shard cursor with a valid checksum is refused unless it is well formed', async (t) => {
  t.throws(() => decodeShardCursor(forged([null, null]), 'payments', 3), { name: 'InvalidCursorError' }, 'another number of shards')
  t.throws(() => decodeShardCursor(forged([['x', 1], null, null]), 'payments', 3), { name: 'InvalidCursorError' }, 'not a sort key')
  t.throws(() => decodeShardCursor(forged([[SORT_KEY, 2], null, null]), 'payments', 3), { name: 'InvalidCursorError' }, 'not a flag')
  t.throws(() => decodeShardCursor(forged({ a: 1 }), 'payments', 3), { name: 'InvalidCursorError' }, 'not a list')
  const notJson = Buffer.from('{').toString('base64url')
  t.throws(() => decodeShardCursor(`${notJson}.${createHash('sha256').update(`payments\n${notJson}`).digest('base64url').slice(0, 16)}`, 'payments', 3), { name: 'InvalidCursorError' }, 'not JSON')
  t.same(decodeShardCursor(forged([[SORT_KEY, 0], null, null]), 'payments', 3), [{ sortKey: SORT_KEY, inclusive: false }, null, null], 'a well-formed one only starts the same listing elsewhere')
})
