import { randomBytes } from 'node:crypto'
import t from 'tap'
import type { DeadLetter } from '../../src/store/dead-letters.js'
import { build } from '../helpers/build.js'

const MINUTE = 60_000
const STALE_AFTER_MS = 5 * MINUTE
const T0 = new Date('2026-11-27T10:00:00.000Z')
const after = (ms: number) => new Date(T0.getTime() + ms)

function deadLetter (messageId: string, overrides: Partial<DeadLetter> = {}): DeadLetter {
  return {
    messageId,
    body: JSON.stringify({ type: 'charge', paymentId: 'pay_01JDQ3V0J6Q8ZC7W8E5T0R2N4M' }),
    attributes: { ApproximateReceiveCount: '5' },
    messageAttributes: {},
    sourceQueue: 'paylith-work',
    receiveCount: 5,
    deadLetteredAt: T0.toISOString(),
    kind: 'message',
    status: 'open',
    ...overrides
  }
}

t.test('recordOnce stores a dead letter once: the same message again is not new and changes nothing', async (t) => {
  const { deps } = await build(t)
  t.equal(await deps.deadLetters.recordOnce(deadLetter('m-once')), true)
  t.equal(await deps.deadLetters.recordOnce(deadLetter('m-once', { body: '{"changed":true}', receiveCount: 9 })), false)
  t.same(await deps.deadLetters.get('m-once'), deadLetter('m-once'), 'the first record is kept as it was')
})

t.test('list is newest first, page by page with a cursor, every dead letter once', async (t) => {
  const { deps } = await build(t)
  // Recorded out of order: the listing orders by deadLetteredAt, not by insertion.
  for (const minutes of [3, 0, 4, 1, 2]) await deps.deadLetters.recordOnce(deadLetter(`m-${minutes}`, { deadLetteredAt: after(minutes * MINUTE).toISOString() }))
  const seen: string[] = []
  let cursor: string | undefined
  let pages = 0
  do {
    const page = await deps.deadLetters.list({ limit: 2, ...(cursor !== undefined && { cursor }) })
    t.ok(page.deadLetters.length <= 2, 'no page is longer than the limit')
    seen.push(...page.deadLetters.map((d) => d.messageId))
    cursor = page.nextCursor ?? undefined
    pages += 1
  } while (cursor !== undefined && pages < 10)
  t.same(seen, ['m-4', 'm-3', 'm-2', 'm-1', 'm-0'])
  t.equal(pages, 3)
})

t.test('an open dead letter is claimed for a redrive: open becomes redriving', async (t) => {
  const { deps } = await build(t)
  await deps.deadLetters.recordOnce(deadLetter('m-claim'))
  t.equal(await deps.deadLetters.claimForRedrive('m-claim', T0, STALE_AFTER_MS), true)
  t.equal((await deps.deadLetters.get('m-claim'))?.status, 'redriving')
})

t.test('a second claim before the first is stale is refused, up to and including the stale instant', async (t) => {
  const { deps } = await build(t)
  await deps.deadLetters.recordOnce(deadLetter('m-busy'))
  await deps.deadLetters.claimForRedrive('m-busy', T0, STALE_AFTER_MS)
  t.equal(await deps.deadLetters.claimForRedrive('m-busy', after(MINUTE), STALE_AFTER_MS), false, 'a minute later')
  t.equal(await deps.deadLetters.claimForRedrive('m-busy', after(STALE_AFTER_MS), STALE_AFTER_MS), false, 'exactly at the stale limit')
  t.equal((await deps.deadLetters.get('m-busy'))?.status, 'redriving')
})

t.test('a claim that never finished is taken over once it is stale', async (t) => {
  const { deps } = await build(t)
  await deps.deadLetters.recordOnce(deadLetter('m-stale'))
  await deps.deadLetters.claimForRedrive('m-stale', T0, STALE_AFTER_MS)
  t.equal(await deps.deadLetters.claimForRedrive('m-stale', after(STALE_AFTER_MS + 1), STALE_AFTER_MS), true)
  t.equal(await deps.deadLetters.claimForRedrive('m-stale', after(STALE_AFTER_MS + 2), STALE_AFTER_MS), false, 'and the takeover is a fresh claim, not stale itself')
})

t.test('a message id that was never recorded cannot be claimed', async (t) => {
  const { deps } = await build(t)
  t.equal(await deps.deadLetters.claimForRedrive('m-unknown', T0, STALE_AFTER_MS), false)
  t.equal(await deps.deadLetters.get('m-unknown'), undefined, 'and claiming did not create it')
})

t.test('releaseClaim gives a claim back, so the redrive can be tried again at once', async (t) => {
  const { deps } = await build(t)
  await deps.deadLetters.recordOnce(deadLetter('m-release'))
  await deps.deadLetters.claimForRedrive('m-release', T0, STALE_AFTER_MS)
  await deps.deadLetters.releaseClaim('m-release')
  t.equal((await deps.deadLetters.get('m-release'))?.status, 'open')
  t.equal(await deps.deadLetters.claimForRedrive('m-release', after(1), STALE_AFTER_MS), true)
})

t.test('markRedriven records when; a redriven dead letter is never claimed again, even long after', async (t) => {
  const { deps } = await build(t)
  await deps.deadLetters.recordOnce(deadLetter('m-done'))
  await deps.deadLetters.claimForRedrive('m-done', T0, STALE_AFTER_MS)
  await deps.deadLetters.markRedriven('m-done', after(1_000))
  t.match(await deps.deadLetters.get('m-done'), { status: 'redriven', redrivenAt: after(1_000).toISOString() })
  t.equal(await deps.deadLetters.claimForRedrive('m-done', after(24 * 60 * MINUTE), STALE_AFTER_MS), false)
})

t.test('releaseClaim leaves a redriven dead letter redriven', async (t) => {
  const { deps } = await build(t)
  await deps.deadLetters.recordOnce(deadLetter('m-late-release'))
  await deps.deadLetters.claimForRedrive('m-late-release', T0, STALE_AFTER_MS)
  await deps.deadLetters.markRedriven('m-late-release', after(1_000))
  await deps.deadLetters.releaseClaim('m-late-release')
  t.equal((await deps.deadLetters.get('m-late-release'))?.status, 'redriven')
})

t.test('a stream batch\'s records are kept compressed and read back as they were', async (t) => {
  const { deps } = await build(t)
  const records = Array.from({ length: 100 }, (_, i) => ({ eventName: 'INSERT' as const, dynamodb: { SequenceNumber: String(1000 + i), NewImage: { pk: { S: `PAYMENT#pay_${i}` }, description: { S: 'x'.repeat(2000) } } } }))
  const streamBatch = { shardId: 'shard-1', startSequenceNumber: '1000', endSequenceNumber: '1099', batchSize: 100, records }
  t.ok(await deps.deadLetters.recordOnce(deadLetter('m-batch', { kind: 'stream-batch', streamBatch })))
  t.same((await deps.deadLetters.get('m-batch'))?.streamBatch, streamBatch, '100 records of 2 KB each fit one item')
})

t.test('records too large to keep even compressed leave the range and say why, rather than a dead letter that cannot be written', async (t) => {
  const { deps } = await build(t)
  const records = Array.from({ length: 40 }, (_, i) => ({ dynamodb: { SequenceNumber: String(i), NewImage: { blob: { S: randomBytes(7500).toString('base64') } } } }))
  t.ok(await deps.deadLetters.recordOnce(deadLetter('m-huge', { kind: 'stream-batch', streamBatch: { shardId: 's', startSequenceNumber: '0', endSequenceNumber: '39', batchSize: 40, records } })))
  const stored = await deps.deadLetters.get('m-huge')
  t.match(stored?.streamBatch, { shardId: 's', batchSize: 40, unavailable: /too large to keep in the dead letter \(\d+ bytes compressed, at most 300000\)/ })
  t.equal(stored?.streamBatch?.records, undefined)
})
