import t from 'tap'
import type { Payment } from '../../../src/domain/payment.js'
import { drain, isSettledOrWaiting } from '../../../scripts/load/settle.js'

const at = '2026-01-01T00:00:00.000Z'
const payment = (id: string, status: Payment['status'], extra: Partial<Payment> = {}): Payment =>
  ({ id, status, amount: 100, currency: 'EUR', customerId: 'cus_1', version: 1, createdAt: at, updatedAt: at, ...extra })

t.test('final payments, and unsettled ones marked for attention, are done moving; others are not', async (t) => {
  t.equal(isSettledOrWaiting(payment('a', 'succeeded')), true)
  t.equal(isSettledOrWaiting(payment('a', 'failed')), true)
  t.equal(isSettledOrWaiting(payment('a', 'refunded')), true)
  t.equal(isSettledOrWaiting(payment('a', 'processing', { attention: { reason: 'dead-lettered', since: at } })), true)
  t.equal(isSettledOrWaiting(payment('a', 'pending')), false)
  t.equal(isSettledOrWaiting(payment('a', 'processing')), false)
})

t.test('the drain reads until every payment is done moving', async (t) => {
  const reads: string[][] = []
  const states = [
    [payment('a', 'pending')],
    [payment('a', 'processing'), payment('b', 'pending')],
    [payment('a', 'succeeded'), payment('b', 'processing', { attention: { reason: 'dead-lettered', since: at } })]
  ]
  const unsettled: number[] = []
  const result = await drain({ read: async (ids) => { reads.push([...ids]); return new Map((states[reads.length - 1] ?? []).map((p) => [p.id, p])) } }, ['a', 'b'], {
    timeoutMs: 10_000,
    intervalMs: 1,
    onProgress: (count) => { unsettled.push(count) }
  })
  t.equal(result.complete, true)
  t.equal(reads.length, 3)
  t.same(unsettled, [2, 2, 0], 'a payment not found yet counts as not settled')
  t.equal(result.payments.get('a')?.status, 'succeeded')
})

t.test('the drain is bounded: it stops at its timeout and says so', async (t) => {
  const started = Date.now()
  const result = await drain({ read: async () => new Map([['a', payment('a', 'pending')]]) }, ['a'], { timeoutMs: 100, intervalMs: 20 })
  t.equal(result.complete, false)
  t.ok(Date.now() - started < 5_000)
  t.equal(result.payments.get('a')?.status, 'pending')
})

t.test('an abort ends the drain after the read in progress', async (t) => {
  const controller = new AbortController()
  controller.abort()
  const result = await drain({ read: async () => new Map() }, ['a'], { timeoutMs: 60_000, signal: controller.signal })
  t.equal(result.complete, false)
})
