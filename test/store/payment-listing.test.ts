import { QueryCommand } from '@aws-sdk/client-dynamodb'
import t from 'tap'
import { TABLE } from '../../src/aws/resources.js'
import type { Payment } from '../../src/domain/payment.js'
import type { PaymentStatus } from '../../src/domain/payment-status.js'
import { querySharded } from '../../src/store/listing.js'
import { Keys, PAYMENT_LISTING_SHARDS, allPaymentsListing, paymentListingPartition } from '../../src/store/table.js'
import { build, type Built } from '../helpers/build.js'
import { storePayment } from '../helpers/payments.js'

const DAY = 86_400_000
const newestFirst = (payments: Array<Pick<Payment, 'id' | 'createdAt'>>): string[] =>
  [...payments].sort((a, b) => `${b.createdAt}#${b.id}`.localeCompare(`${a.createdAt}#${a.id}`)).map((payment) => payment.id)

/** Follows the cursors from the first page to the last: every id, in order, and the pages' sizes. */
async function everyPage (list: (cursor?: string) => Promise<{ payments: Payment[], nextCursor: string | null }>, maxPages = 500): Promise<{ ids: string[], sizes: number[] }> {
  const ids: string[] = []
  const sizes: number[] = []
  let cursor: string | undefined
  do {
    const page = await list(cursor)
    ids.push(...page.payments.map((payment) => payment.id))
    sizes.push(page.payments.length)
    cursor = page.nextCursor ?? undefined
  } while (cursor !== undefined && sizes.length < maxPages)
  return { ids, sizes }
}

/** Payments over three days (several created in the same millisecond), spread over the shards. */
async function storeAcrossDays (built: Built, count: number): Promise<Payment[]> {
  const base = Date.parse('2026-11-25T23:59:59.990Z')
  const payments: Payment[] = []
  for (let i = 0; i < count; i++) {
    // Every third payment shares its millisecond with the one before: the id breaks the tie.
    const at = new Date(base + Math.floor(i / 3) * (DAY / 10) + (i % 3 === 2 ? 0 : i % 3))
    payments.push(await storePayment(built.deps, { customerId: `cus_${i % 4}`, createdAt: at }))
  }
  return payments
}

t.test('every payment is listed newest first across shards and days, page after page, none skipped or repeated', async (t) => {
  const built = await build(t)
  const payments = await storeAcrossDays(built, 40)
  const days = new Set(payments.map((payment) => payment.createdAt.slice(0, 10)))
  t.ok(days.size >= 3, `over ${days.size} days`)
  const shards = new Set(payments.map((payment) => Keys.paymentListing(payment.createdAt, payment.id)[TABLE.gsi2.partitionKey]))
  t.ok(shards.size >= PAYMENT_LISTING_SHARDS / 2, `over ${shards.size} of ${PAYMENT_LISTING_SHARDS} shards`)

  const expected = newestFirst(payments)
  for (const limit of [1, 3, 7, 40, 100]) {
    const { ids, sizes } = await everyPage(async (cursor) => built.deps.payments.listAll({ limit, ...(cursor !== undefined && { cursor }) }))
    t.same(ids, expected, `limit ${limit}: every payment once, newest first`)
    const full = sizes.filter((size) => size > 0)
    t.ok(full.slice(0, -1).every((size) => size === limit), `limit ${limit}: every page but the last is full`)
    t.equal(full.length, Math.max(1, Math.ceil(40 / limit)), `limit ${limit}: as many pages as it takes`)
    // A shard whose last read stopped at its Limit exactly cannot know it is done (DynamoDB says the same): at most one empty page more.
    t.ok(sizes.length - full.length <= 1 && sizes.slice(full.length).every((size) => size === 0), `limit ${limit}: at most one empty page, at the end (${sizes.join(', ')})`)
  }
})

t.test('payments created while a client pages are not mixed into the pages after: they are newer than the first', async (t) => {
  const built = await build(t)
  const before = await storeAcrossDays(built, 12)
  const first = await built.deps.payments.listAll({ limit: 5 })
  for (let i = 0; i < 6; i++) await storePayment(built.deps)
  const rest = await everyPage(async (cursor) => built.deps.payments.listAll({ limit: 5, cursor: cursor ?? first.nextCursor ?? '' }))
  t.same([...first.payments.map((payment) => payment.id), ...rest.ids], newestFirst(before))
})

t.test('status= lists only that status, newest first, with its own cursors', async (t) => {
  const built = await build(t)
  const payments = await storeAcrossDays(built, 30)
  const statuses: PaymentStatus[] = []
  for (const [i, payment] of payments.entries()) {
    if (i % 5 === 0) await built.deps.payments.transition(payment, 'canceled')
    else if (i % 2 === 0) await built.deps.payments.transition(payment, 'processing')
    statuses.push(i % 5 === 0 ? 'canceled' : i % 2 === 0 ? 'processing' : 'pending')
  }
  for (const status of ['canceled', 'processing', 'pending', 'succeeded'] as const) {
    const expected = newestFirst(payments.filter((_, i) => statuses[i] === status))
    const { ids } = await everyPage(async (cursor) => built.deps.payments.listAll({ limit: 2, status, ...(cursor !== undefined && { cursor }) }))
    t.same(ids, expected, `${status}: exactly its ${expected.length}, newest first`)
  }
  const { nextCursor } = await built.deps.payments.listAll({ limit: 1, status: 'pending' })
  await t.rejects(built.deps.payments.listAll({ limit: 1, cursor: nextCursor ?? '' }), { name: 'InvalidCursorError' }, 'a filtered listing\'s cursor is refused by the unfiltered one')
  await t.rejects(built.deps.payments.listAll({ limit: 1, status: 'canceled', cursor: nextCursor ?? '' }), { name: 'InvalidCursorError' }, 'and by another status\'s')

  const byCustomer = await everyPage(async (cursor) => built.deps.payments.listByCustomer('cus_0', { limit: 1, status: 'canceled', ...(cursor !== undefined && { cursor }) }))
  t.same(byCustomer.ids, newestFirst(payments.filter((payment, i) => statuses[i] === 'canceled' && payment.customerId === 'cus_0')), 'a customer\'s listing filters the same way')
})

t.test('a filtered page stops after reading its budget: it may be short, even empty, and its cursor goes on without a gap', async (t) => {
  const built = await build(t)
  const payments = await storeAcrossDays(built, 30)
  const rare = [payments[3], payments[17], payments[28]] as Payment[]
  for (const payment of rare) await built.deps.payments.transition(payment, 'canceled')
  const listing = allPaymentsListing('canceled')
  let examined = 0
  const { ids, sizes } = await everyPage(async (cursor) => {
    const page = await querySharded(built.deps.dynamodb, built.config.tableName, listing, { limit: 10, maxExamined: 2, ...(cursor !== undefined && { cursor }) })
    examined += page.examined
    return { payments: page.items.map((item) => ({ id: item.id?.S ?? '' }) as Payment), nextCursor: page.nextCursor }
  })
  t.same(ids, newestFirst(rare), 'every canceled payment once, in order')
  t.ok(sizes.some((size) => size === 0), 'some pages were empty: the budget ran out before a match')
  t.ok(sizes.length > 1, `${sizes.length} pages`)
  t.ok(examined >= 30 && examined < 30 * 2, `each payment read about once across the pages (${examined} reads)`)
})

t.test('a payment stays listed through every write: transitions, attention, the provider reference, awaiting the provider', async (t) => {
  const built = await build(t)
  const { deps } = built
  const payment = await storePayment(deps)
  const processing = await deps.payments.transition(payment, 'processing')
  await deps.payments.flagAttention(processing, { reason: 'dead-lettered', since: new Date().toISOString(), deadLetterId: 'm1' })
  const withRef = await deps.payments.recordProviderRef(processing, 'pi_listing')
  await deps.payments.markAwaitingProvider(withRef, 'pi_listing')
  t.match((await deps.payments.listAll({ limit: 10 })).payments, [{ id: payment.id, status: 'processing', providerRef: 'pi_listing', awaitingProvider: true }])
  const shard = Keys.paymentListing(payment.createdAt, payment.id)[TABLE.gsi2.partitionKey]
  t.ok(Array.from({ length: PAYMENT_LISTING_SHARDS }, (_, i) => paymentListingPartition(i)).includes(shard ?? ''), `in ${shard ?? ''}`)
})

t.test('a payment of before, in GSI2\'s old unsettled partition, moves to the listing when it is marked awaiting the provider', async (t) => {
  const built = await build(t)
  const { deps } = built
  const payment = await storePayment(deps)
  const processing = await deps.payments.transition(payment, 'processing')
  // As the version before GSI3 wrote it: GSI2 holds its unsettled key, not the listing's.
  const { PutItemCommand } = await import('@aws-sdk/client-dynamodb')
  const { toItem } = await import('../../src/store/table.js')
  await deps.dynamodb.send(new PutItemCommand({
    TableName: built.config.tableName,
    Item: toItem({ ...Keys.payment(payment.id), ...Keys.paymentByCustomer(payment.customerId, payment.createdAt, payment.id), gsi2pk: `UNSETTLED#${payment.createdAt.slice(0, 10)}`, gsi2sk: `${payment.createdAt}#${payment.id}` }, processing)
  }))
  t.same((await deps.payments.listAll({ limit: 10 })).payments, [], 'not listed while it has no listing key')
  await deps.payments.markAwaitingProvider(processing, 'pi_old')
  t.same((await deps.payments.listAll({ limit: 10 })).payments.map((listed) => listed.id), [payment.id], 'listed once it is written again')
  const { Count } = await deps.dynamodb.send(new QueryCommand({
    TableName: built.config.tableName, IndexName: TABLE.gsi2.name, KeyConditionExpression: 'gsi2pk = :p', ExpressionAttributeValues: { ':p': { S: `UNSETTLED#${payment.createdAt.slice(0, 10)}` } }, Select: 'COUNT'
  }))
  t.equal(Count, 0, 'and out of the old unsettled partition')
})
