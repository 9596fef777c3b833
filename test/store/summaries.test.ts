import t from 'tap'
import type { Payment } from '../../src/domain/payment.js'
import { build } from '../helpers/build.js'

const base: Payment = { id: 'pay_A', status: 'pending', amount: 1000, currency: 'EUR', customerId: 'cus_proj', version: 1, createdAt: '2026-11-27T10:00:00.000Z', updatedAt: '2026-11-27T10:00:00.000Z' }
const at = (version: number, status: Payment['status'], overrides: Partial<Payment> = {}): Payment => ({ ...base, version, status, ...overrides })

t.test('each payment counts once, in the bucket of its newest version', async (t) => {
  const { deps } = await build(t)
  await deps.summaries.apply(at(1, 'pending'))
  await deps.summaries.apply(at(2, 'processing'))
  await deps.summaries.apply(at(3, 'succeeded'))
  await deps.summaries.apply(at(1, 'pending', { id: 'pay_B', amount: 250, currency: 'USD', createdAt: '2026-11-27T11:00:00.000Z' }))
  t.same(await deps.summaries.get('cus_proj'), {
    customerId: 'cus_proj',
    totals: [
      { currency: 'EUR', status: 'succeeded', count: 1, amount: 1000 },
      { currency: 'USD', status: 'pending', count: 1, amount: 250 }
    ],
    refunded: [],
    lastPaymentAt: '2026-11-27T11:00:00.000Z'
  })
})

t.test('refunded amounts are counted per currency, partial refunds included, once per version', async (t) => {
  const { deps } = await build(t)
  await deps.summaries.apply(at(2, 'succeeded'))
  await deps.summaries.apply(at(3, 'partially_refunded', { amountRefunded: 300 }), at(2, 'succeeded'))
  await deps.summaries.apply(at(3, 'partially_refunded', { amountRefunded: 300 }), at(2, 'succeeded'))
  await deps.summaries.apply(at(4, 'refunded', { amountRefunded: 1000 }))
  await deps.summaries.apply(at(2, 'partially_refunded', { id: 'pay_C', amount: 500, currency: 'USD', amountRefunded: 120 }))
  await deps.summaries.apply(at(1, 'succeeded', { id: 'pay_D' }))
  const summary = await deps.summaries.get('cus_proj')
  t.same(summary?.refunded, [{ currency: 'EUR', amount: 1000 }, { currency: 'USD', amount: 120 }])
  t.same(summary?.totals, [
    { currency: 'EUR', status: 'refunded', count: 1, amount: 1000 },
    { currency: 'EUR', status: 'succeeded', count: 1, amount: 1000 },
    { currency: 'USD', status: 'partially_refunded', count: 1, amount: 500 }
  ])
})

t.test('redelivered and out-of-order versions change nothing', async (t) => {
  const { deps } = await build(t)
  t.equal(await deps.summaries.apply(at(3, 'succeeded')), true, 'the newest version first')
  t.equal(await deps.summaries.apply(at(1, 'pending')), false, 'an older version is ignored')
  t.equal(await deps.summaries.apply(at(2, 'processing')), false)
  t.equal(await deps.summaries.apply(at(3, 'succeeded')), false, 'a redelivery is ignored')
  t.same((await deps.summaries.get('cus_proj'))?.totals, [{ currency: 'EUR', status: 'succeeded', count: 1, amount: 1000 }])
})

t.test('concurrent versions of one payment still leave it counted once', async (t) => {
  const { deps } = await build(t)
  await Promise.all([deps.summaries.apply(at(1, 'pending')), deps.summaries.apply(at(2, 'processing')), deps.summaries.apply(at(3, 'failed'))])
  t.same((await deps.summaries.get('cus_proj'))?.totals, [{ currency: 'EUR', status: 'failed', count: 1, amount: 1000 }])
})

t.test('a customer without payments has no summary', async (t) => {
  const { deps } = await build(t)
  t.equal(await deps.summaries.get('cus_nobody'), undefined)
})

t.test('a payment that moved on takes its count and amount out of its old bucket', async (t) => {
  const { deps } = await build(t)
  await deps.summaries.apply(at(1, 'pending'))
  await deps.summaries.apply(at(2, 'succeeded'))
  await deps.summaries.apply(at(1, 'pending', { id: 'pay_B', amount: 250 }))
  t.same((await deps.summaries.get('cus_proj'))?.totals, [
    { currency: 'EUR', status: 'pending', count: 1, amount: 250 },
    { currency: 'EUR', status: 'succeeded', count: 1, amount: 1000 }
  ])
})

t.test('lastPaymentAt never moves back when an older payment is counted after a newer one', async (t) => {
  const { deps } = await build(t)
  await deps.summaries.apply(at(1, 'pending', { id: 'pay_new', createdAt: '2026-11-27T12:00:00.000Z' }))
  await deps.summaries.apply(at(1, 'pending', { id: 'pay_old', createdAt: '2026-11-27T08:00:00.000Z' }))
  t.equal((await deps.summaries.get('cus_proj'))?.lastPaymentAt, '2026-11-27T12:00:00.000Z')
})

t.test('with the version it replaces (the stream\'s old image), a summary moves in one write; a wrong or stale one still counts exactly', async (t) => {
  const { deps } = await build(t)
  const sent: string[] = []
  deps.dynamodb.middlewareStack.add((next, context) => async (args) => {
    sent.push(context.commandName ?? '?')
    return next(args)
  }, { step: 'initialize', name: 'countCommands' })
  t.teardown(() => { deps.dynamodb.middlewareStack.remove('countCommands') })

  t.equal(await deps.summaries.apply(at(1, 'pending'), null), true, 'the first version')
  t.same(sent, ['TransactWriteItemsCommand', 'UpdateItemCommand'], 'one transaction, then the last-payment time; no read')
  sent.length = 0
  t.equal(await deps.summaries.apply(at(2, 'processing'), at(1, 'pending')), true)
  t.same(sent, ['TransactWriteItemsCommand'], 'a later version: one transaction only')

  t.equal(await deps.summaries.apply(at(1, 'pending'), null), false, 'a redelivered first version is found counted and ignored')
  t.equal(await deps.summaries.apply(at(2, 'processing'), at(1, 'pending')), false, 'a redelivered later version too')
  t.equal(await deps.summaries.apply(at(4, 'succeeded'), at(3, 'processing')), true, 'a version whose old image was never counted (a gap) is counted from what is')
  t.same((await deps.summaries.get('cus_proj'))?.totals, [{ currency: 'EUR', status: 'succeeded', count: 1, amount: 1000 }])
  t.equal((await deps.summaries.get('cus_proj'))?.lastPaymentAt, base.createdAt)
})
