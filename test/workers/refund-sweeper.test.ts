import { randomUUID } from 'node:crypto'
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs'
import t from 'tap'
import { newIdempotencyRecord } from '../../src/domain/idempotency.js'
import { newRefund, type Refund } from '../../src/domain/refund.js'
import type { Deps } from '../../src/deps.js'
import type { Payment } from '../../src/domain/payment.js'
import { createLocalContext } from '../../src/local/lambda-context.js'
import type { SandboxProvider } from '../../src/providers/sandbox.js'
import { createRefundSweeper } from '../../src/workers/sweeper.js'
import { bearer, build } from '../helpers/build.js'
import { sqsEvent } from '../helpers/events.js'
import { storeSucceededPayment } from '../helpers/payments.js'

const HOUR = 3_600_000
const SECOND = 1_000
const scheduled = { version: '0', id: 'e', 'detail-type': 'Scheduled Event' as const, source: 'aws.events' as const, account: '1', time: '', region: 'us-east-1', resources: [], detail: {} }
const context = () => createLocalContext('paylith-test', 30_000)

/** Stores a pending refund as the refund route does (with its reservation), created at `createdAt`; nothing relays it here. */
async function storeRefund (deps: Deps, payment: Payment, amount: number, createdAt: Date): Promise<Refund> {
  const refund = newRefund(deps.refundIds(), payment, amount, undefined, createdAt)
  const record = newIdempotencyRecord({ scope: 'test#refunds', key: randomUUID(), fingerprint: randomUUID() }, { resourceId: payment.id, statusCode: 201, body: '{}' }, createdAt, 86_400)
  const { outcome } = await deps.refunds.createIdempotently(refund, record)
  if (outcome !== 'created') throw new Error(`the refund was not stored: ${outcome}`)
  return refund
}

/** The commands on the work queue (each received once, kept invisible for a minute). */
async function receiveCommands (deps: Deps, expected: number): Promise<Array<Record<string, string>>> {
  const commands: Array<Record<string, string>> = []
  for (let polls = 0; polls < 5 && commands.length < expected; polls++) {
    const { Messages = [] } = await (await deps.sqs()).send(new ReceiveMessageCommand({ QueueUrl: deps.config.queues.work.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 60 }))
    commands.push(...Messages.map((message) => JSON.parse(message.Body ?? '{}')))
  }
  return commands
}

/** The EMF documents written so far. */
function metricDocuments (written: string[]): Array<Record<string, unknown>> {
  return written.join('').split('\n').filter((line) => line !== '').map((line) => JSON.parse(line))
}

t.test('a pending refund whose relay was lost is sent its refund command again by the scheduled sweep, and then ends succeeded', async (t) => {
  let now = new Date('2026-11-27T10:00:00.000Z')
  const built = await build(t, { env: { SWEEP_STALE_AFTER_SECONDS: '900' }, deps: { clock: () => now } })
  const { deps, workers } = built
  const payment = await storeSucceededPayment(deps, { amount: 1000 })
  const refund = await storeRefund(deps, payment, 300, now)
  const fresh = await storeRefund(deps, payment, 100, new Date(now.getTime() + 2 * HOUR - 60 * SECOND))
  t.same((await deps.refunds.listUnsettled('2026-11-27', { from: '0', to: '9' }, 10)).map((entry) => [entry.id, entry.paymentId]), [[refund.id, payment.id], [fresh.id, payment.id]], 'both pending refunds are in the index, with their payment')

  now = new Date(now.getTime() + 2 * HOUR)
  t.same(await workers.scheduled?.(scheduled, context()), { resent: 0, gaveUp: 0, needAttention: 0 }, 'the payment sweep has nothing to do')
  const commands = await receiveCommands(deps, 1)
  t.same(commands, [{ type: 'refund', paymentId: payment.id, refundId: refund.id }], 'the stale refund\'s command, not the fresh one\'s')
  t.same((await deps.refunds.get(refund.id))?.resends, { count: 1, nextAt: new Date(now.getTime() + 1800 * SECOND).toISOString() })

  const worker = workers.queues[built.config.queues.work.name]
  if (worker === undefined) throw new Error('no work-queue worker')
  t.same(await worker(sqsEvent(built.config.queues.work.name, commands.map((command) => JSON.stringify(command))), context()), { batchItemFailures: [] })
  t.match(await deps.refunds.get(refund.id), { status: 'succeeded', providerRef: `sbx_${refund.id}` })
  t.equal((deps.provider as SandboxProvider).refundsFor(refund.id), 1, 'refunded once')
  t.match(await deps.payments.get(payment.id), { status: 'partially_refunded', amountRefunded: 300, amountReserved: 100 })
  t.same((await deps.refunds.listUnsettled('2026-11-27', { from: '0', to: '9' }, 10)).map((entry) => entry.id), [fresh.id], 'the ended refund left the index')
})

t.test('an ended refund is not in the sweeper\'s index, succeeded or failed, nor one recorded from the provider', async (t) => {
  const now = new Date('2026-11-27T10:00:00.000Z')
  const { deps } = await build(t, { deps: { clock: () => now } })
  const payment = await storeSucceededPayment(deps, { amount: 1000 })
  const succeeded = await storeRefund(deps, payment, 200, now)
  const failed = await storeRefund(deps, payment, 151, now)
  const pending = await storeRefund(deps, payment, 100, now)
  await deps.refunds.settle(succeeded, { status: 'succeeded', providerRef: 'sbx_1' })
  await deps.refunds.settle(failed, { status: 'failed', reason: 'refund_declined' })
  const recorded = { ...newRefund(deps.refundIds(), payment, 50, undefined, now), status: 'succeeded' as const, origin: 'provider' as const, providerRef: 're_dashboard' }
  t.equal(await deps.refunds.recordExternal((await deps.payments.get(payment.id)) as Payment, recorded), 'recorded')

  t.same((await deps.refunds.listUnsettled('2026-11-27', { from: '0', to: '9' }, 10)).map((entry) => entry.id), [pending.id])
})

t.test('two overlapping refund sweeps send each stale refund\'s command once', async (t) => {
  const now = new Date('2026-11-27T12:00:00.000Z')
  const { deps } = await build(t, { env: { SWEEP_STALE_AFTER_SECONDS: '900' }, deps: { clock: () => now } })
  const ids = new Set<string>()
  for (let i = 0; i < 6; i++) {
    const payment = await storeSucceededPayment(deps, { amount: 1000, customerId: `cus_overlap_${i}` })
    ids.add((await storeRefund(deps, payment, 100, new Date(now.getTime() - 2 * HOUR))).id)
  }
  const sweep = createRefundSweeper(deps, { staleAfterMs: 900 * SECOND, maxPerRun: 100, maxResends: 5 })

  const sweeps = await Promise.all([1, 2, 3].map(async () => sweep(scheduled, context())))
  t.equal(sweeps.reduce((sum, result) => sum + result.resent, 0), 6, 'six re-sends among the three sweeps')
  const commands = await receiveCommands(deps, 6)
  t.same(commands.map((command) => command.refundId).sort(), [...ids].sort(), 'one refund command per refund')
  for (const id of ids) t.equal((await deps.refunds.get(id))?.resends?.count, 1)
})

t.test('a stuck refund is re-sent at growing intervals at most SWEEP_MAX_RESENDS times, then flagged for a person once, with one metric document per event', async (t) => {
  const created = new Date('2026-11-27T12:00:00.000Z').getTime()
  let now = created
  const written: string[] = []
  const { app, deps } = await build(t, { deps: { clock: () => new Date(now), metricsDestination: { write: (chunk: string) => written.push(chunk) } } })
  const payment = await storeSucceededPayment(deps, { amount: 1000 })
  const refund = await storeRefund(deps, payment, 100, new Date(created))
  const sweep = createRefundSweeper(deps, { staleAfterMs: 60 * SECOND, maxPerRun: 100, maxResends: 2 })
  const sweepAt = async (secondsAfterCreation: number) => {
    now = created + secondsAfterCreation * SECOND
    return sweep(scheduled, context())
  }

  t.same(await sweepAt(59), { resent: 0, gaveUp: 0, needAttention: 0 }, 'not stale yet')
  t.same(await sweepAt(61), { resent: 1, gaveUp: 0, needAttention: 0 })
  t.same(await sweepAt(61 + 119), { resent: 0, gaveUp: 0, needAttention: 0 }, 'not due 1 s before its 120 s interval ends')
  t.same(await sweepAt(61 + 120), { resent: 1, gaveUp: 0, needAttention: 0 })
  t.same(await sweepAt(181 + 240), { resent: 0, gaveUp: 1, needAttention: 0 }, 'the cap: no third re-send, it is given up on')
  t.same(await sweepAt(181 + 10_000), { resent: 0, gaveUp: 0, needAttention: 0 }, 'once, and never re-sent after')

  const stored = await deps.refunds.get(refund.id)
  t.match(stored, { status: 'pending', resends: { count: 2 }, attention: { reason: 'resends-exhausted', since: new Date(created + 421 * SECOND).toISOString() } })
  const read = await app.inject({ method: 'GET', url: `/v1/refunds/${refund.id}`, headers: bearer() })
  t.same(read.json().attention, { reason: 'resends-exhausted', since: new Date(created + 421 * SECOND).toISOString() }, 'the refund says so itself')
  t.equal((await receiveCommands(deps, 3)).length, 2, 'two refund commands in all')
  deps.metrics.flush()
  const documents = metricDocuments(written)
  t.same(documents.filter((document) => document.RefundsResent !== undefined).map((document) => document.RefundsResent), [1, 1], 'one RefundsResent document per re-send')
  t.same(documents.filter((document) => document.RefundsNeedAttention !== undefined).map((document) => [document.reason, document.RefundsNeedAttention]), [['resends-exhausted', 1]])
  t.notOk(documents.some((document) => document.ChargesResent !== undefined || document.PaymentsNeedAttention !== undefined), 'nothing counted as a payment\'s')

  await deps.refunds.settle(stored as Refund, { status: 'succeeded', providerRef: 'sbx_late' })
  t.notOk('attention' in ((await deps.refunds.get(refund.id)) ?? {}), 'ending it drops the attention')
})

t.test('a refund pending for longer than the provider keeps idempotency keys is reported and flagged, never re-sent', async (t) => {
  const now = new Date('2026-11-27T12:00:00.000Z')
  const written: string[] = []
  const { deps } = await build(t, { deps: { clock: () => now, metricsDestination: { write: (chunk: string) => written.push(chunk) } } })
  const payment = await storeSucceededPayment(deps, { amount: 1000 })
  const ancient = await storeRefund(deps, payment, 100, new Date(now.getTime() - 30 * HOUR))
  const resendable = await storeRefund(deps, payment, 200, new Date(now.getTime() - 16 * HOUR))
  const sweep = createRefundSweeper(deps, { staleAfterMs: 900 * SECOND, maxPerRun: 100, maxResends: 5 })

  t.same(await sweep(scheduled, context()), { resent: 1, gaveUp: 0, needAttention: 1 })
  t.same(await sweep(scheduled, context()), { resent: 0, gaveUp: 0, needAttention: 1 }, 'still reported')
  t.same((await receiveCommands(deps, 2)).map((command) => command.refundId), [resendable.id], 'only the one inside the window')
  t.same((await deps.refunds.get(ancient.id))?.attention, { reason: 'unsettled-too-long', since: now.toISOString() })
  deps.metrics.flush()
  t.same(metricDocuments(written).filter((document) => document.RefundsNeedAttention !== undefined).map((document) => document.reason), ['unsettled-too-long'], 'counted once, when first flagged')
})

t.test('the restart recovery re-sends pending refunds without counting it, and not those given up on', async (t) => {
  const now = new Date('2026-11-27T12:00:00.000Z')
  const { deps } = await build(t, { deps: { clock: () => now } })
  const payment = await storeSucceededPayment(deps, { amount: 1000 })
  const fresh = await storeRefund(deps, payment, 100, new Date(now.getTime() - SECOND))
  const givenUp = await storeRefund(deps, payment, 200, new Date(now.getTime() - 2 * HOUR))
  t.equal(await deps.refunds.flagResendsExhausted({ ...givenUp, resends: 0 }, { reason: 'resends-exhausted', since: now.toISOString() }), true)
  const recover = createRefundSweeper(deps, { staleAfterMs: 0, maxPerRun: 10, maxResends: 0, recovery: true })

  t.same(await recover(scheduled, context()), { resent: 1, gaveUp: 0, needAttention: 0 })
  t.equal((await deps.refunds.get(fresh.id))?.resends, undefined, 'not counted as a re-send')
  t.same((await receiveCommands(deps, 1)).map((command) => command.refundId), [fresh.id])
})

t.test('the sweeper\'s writes on a refund hold only while it is pending', async (t) => {
  const now = new Date('2026-11-27T12:00:00.000Z')
  const { deps } = await build(t, { deps: { clock: () => now } })
  const payment = await storeSucceededPayment(deps, { amount: 1000 })
  const refund = await storeRefund(deps, payment, 100, now)
  const resends = { count: 1, nextAt: now.toISOString() }
  t.equal(await deps.refunds.recordResend(refund, resends), true)
  t.equal(await deps.refunds.recordResend(refund, resends), false, 'the same count twice: another sweep got there first')
  await deps.refunds.settle(refund, { status: 'failed', reason: 'refund_declined' })
  t.equal(await deps.refunds.recordResend(refund, { count: 2, nextAt: now.toISOString() }), false, 'ended')
  t.equal(await deps.refunds.flagAttention(refund, { reason: 'unsettled-too-long', since: now.toISOString() }), false)
  t.equal(await deps.refunds.flagResendsExhausted({ ...refund, resends: 1 }, { reason: 'resends-exhausted', since: now.toISOString() }), false)
})
