import { randomUUID } from 'node:crypto'
import t from 'tap'
import { newIdempotencyRecord } from '../../src/domain/idempotency.js'
import { newRefund, type Refund } from '../../src/domain/refund.js'
import type { Deps } from '../../src/deps.js'
import type { Payment } from '../../src/domain/payment.js'
import { build } from '../helpers/build.js'
import { storePayment, storeSucceededPayment } from '../helpers/payments.js'

function refundOf (deps: Deps, payment: Payment, amount: number): { refund: Refund, record: ReturnType<typeof newIdempotencyRecord> } {
  const refund = newRefund(deps.refundIds(), payment, amount, undefined, deps.clock())
  const record = newIdempotencyRecord({ scope: 'test#refunds', key: randomUUID(), fingerprint: randomUUID() }, { resourceId: payment.id, statusCode: 201, body: '{}' }, deps.clock(), 86_400)
  return { refund, record }
}

t.test('a refund reserves its amount on the payment in the same transaction as the refund and the key', async (t) => {
  const { deps } = await build(t)
  const payment = await storeSucceededPayment(deps, { amount: 1000 })
  const { refund, record } = refundOf(deps, payment, 300)

  t.same(await deps.refunds.createIdempotently(refund, record), { outcome: 'created' })
  const stored = await deps.payments.get(payment.id)
  t.match(stored, { amountReserved: 300, amountRefundable: 700, version: payment.version, status: 'succeeded' }, 'reserved without a new version')
  t.same(await deps.refunds.get(refund.id), refund, 'read back by id alone')
  t.same(await deps.refunds.listByPayment(payment.id), [refund])
  t.same((await deps.payments.history(payment.id))?.map((event) => event.status), ['pending', 'succeeded'], 'the refund is not a history event of the payment')
})

t.test('20 concurrent partial refunds whose sum exceeds the amount never reserve more than it', async (t) => {
  const { deps } = await build(t)
  const payment = await storeSucceededPayment(deps, { amount: 1000 })
  const attempts = Array.from({ length: 20 }, () => refundOf(deps, payment, 150))

  const outcomes = await Promise.all(attempts.map(async ({ refund, record }) => deps.refunds.createIdempotently(refund, record)))
  const created = outcomes.filter((outcome) => outcome.outcome === 'created').length
  t.equal(created, 6, 'six of 150 fit in 1000')
  t.equal(outcomes.filter((outcome) => outcome.outcome === 'refused').length, 14, 'every other one is refused, none left unanswered')
  const stored = await deps.payments.get(payment.id)
  t.equal(stored?.amountReserved, 900)
  t.equal(stored?.amountRefundable, 100)
  t.equal((await deps.refunds.listByPayment(payment.id)).length, 6, 'only the winners wrote a refund')
})

t.test('a payment that has not succeeded refuses the refund and keeps nothing reserved', async (t) => {
  const { deps } = await build(t)
  const payment = await storePayment(deps, { amount: 1000 })
  const { refund, record } = refundOf(deps, payment, 100)

  const outcome = await deps.refunds.createIdempotently(refund, record)
  t.match(outcome, { outcome: 'refused', payment: { id: payment.id, status: 'pending' } })
  t.equal((await deps.payments.get(payment.id))?.amountReserved, undefined)
  t.equal(await deps.refunds.get(refund.id), undefined)
})

t.test('an unknown payment refuses the refund with no payment', async (t) => {
  const { deps } = await build(t)
  const payment = { id: deps.ids(), currency: 'EUR' } as Payment
  const { refund, record } = refundOf(deps, payment, 100)
  t.same(await deps.refunds.createIdempotently(refund, record), { outcome: 'refused', payment: undefined })
})

t.test('a used key is taken, with its record, whatever the payment says now', async (t) => {
  const { deps } = await build(t)
  const payment = await storeSucceededPayment(deps, { amount: 100 })
  const { refund, record } = refundOf(deps, payment, 100)
  await deps.refunds.createIdempotently(refund, record)
  const again = newRefund(deps.refundIds(), payment, 100, undefined, deps.clock())
  t.match(await deps.refunds.createIdempotently(again, record), { outcome: 'key-taken', taken: { by: 'completed', record: { key: record.key } } })
})

t.test('a succeeded refund moves the payment to partially_refunded, then refunded, with history', async (t) => {
  const { deps } = await build(t)
  const payment = await storeSucceededPayment(deps, { amount: 1000 })
  const first = refundOf(deps, payment, 400)
  const second = refundOf(deps, payment, 600)
  await deps.refunds.createIdempotently(first.refund, first.record)
  await deps.refunds.createIdempotently(second.refund, second.record)

  const one = await deps.refunds.settle(first.refund, { status: 'succeeded', providerRef: 'sbx_re_1' })
  t.match(one, { refund: { status: 'succeeded', providerRef: 'sbx_re_1' }, payment: { status: 'partially_refunded', amountRefunded: 400, amountReserved: 600 } })
  t.equal(await deps.refunds.settle(first.refund, { status: 'succeeded' }), undefined, 'settled once: a second outcome changes nothing')
  const two = await deps.refunds.settle(second.refund, { status: 'succeeded' })
  t.match(two?.payment, { status: 'refunded', amountRefunded: 1000, amountReserved: 0 })
  const stored = await deps.payments.get(payment.id)
  t.match(stored, { status: 'refunded', amountRefunded: 1000, amountReserved: 0, amountRefundable: 0, version: payment.version + 2 })
  t.same((await deps.payments.history(payment.id))?.map((event) => event.status), ['pending', 'succeeded', 'partially_refunded', 'refunded'])
})

t.test('a failed refund releases its reservation and leaves the payment where it was', async (t) => {
  const { deps } = await build(t)
  const payment = await storeSucceededPayment(deps, { amount: 1000 })
  const { refund, record } = refundOf(deps, payment, 1000)
  await deps.refunds.createIdempotently(refund, record)

  t.match(await deps.refunds.settle(refund, { status: 'failed', reason: 'refund_declined' }), { refund: { status: 'failed', failureReason: 'refund_declined' } })
  t.equal(await deps.refunds.settle(refund, { status: 'succeeded' }), undefined, 'a late success of a failed refund changes nothing')
  t.match(await deps.payments.get(payment.id), { status: 'succeeded', amountReserved: 0, amountRefundable: 1000, version: payment.version })
  const retry = refundOf(deps, payment, 1000)
  t.same(await deps.refunds.createIdempotently(retry.refund, retry.record), { outcome: 'created' }, 'the whole amount is refundable again')
})

t.test('a payment read before a reservation cannot write it back: its transition is a conflict', async (t) => {
  const { deps } = await build(t)
  const payment = await storeSucceededPayment(deps, { amount: 1000 })
  const { refund, record } = refundOf(deps, payment, 100)
  await deps.refunds.createIdempotently(refund, record)
  await t.rejects(deps.payments.transition(payment, 'refunded'), { name: 'VersionConflictError' })
  t.equal((await deps.payments.get(payment.id))?.amountReserved, 100)
})
