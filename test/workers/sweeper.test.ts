import { Writable } from 'node:stream'
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs'
import t from 'tap'
import { createLocalContext } from '../../src/local/lambda-context.js'
import { createLogger } from '../../src/observability/logger.js'
import { createSweeper, nextResendAt } from '../../src/workers/sweeper.js'
import { bearer, build } from '../helpers/build.js'
import { storePayment } from '../helpers/payments.js'
import { unsettledShard } from '../../src/store/table.js'

const HOUR = 3_600_000
const scheduled = { version: '0', id: 'e', 'detail-type': 'Scheduled Event' as const, source: 'aws.events' as const, account: '1', time: '', region: 'us-east-1', resources: [], detail: {} }

t.test('the sweeper re-sends charge commands for payments that stopped moving, and only for them', async (t) => {
  const now = new Date('2026-11-27T12:00:00.000Z')
  const { deps, workers } = await build(t, { env: { SWEEP_STALE_AFTER_SECONDS: '900' }, deps: { clock: () => now } })
  const at = (hoursAgo: number) => new Date(now.getTime() - hoursAgo * HOUR)
  const create = async (label: string, hoursAgo: number) => storePayment(deps, { customerId: `cus_${label}`, createdAt: at(hoursAgo) })
  const stuckPending = await create('stuck-pending', 2)
  const stuckProcessing = await deps.payments.transition(await create('stuck-processing', 20), 'processing')
  await create('fresh', 0.05)
  const settled = await create('settled', 3)
  await deps.payments.transition(settled, 'succeeded', { providerRef: 'ref_settled' })
  const ancient = await create('ancient', 30)

  const result = await workers.scheduled?.(scheduled, createLocalContext('paylith-test', 30_000))
  t.same(result, { resent: 2, gaveUp: 0, needAttention: 1 })

  const { Messages = [] } = await (await deps.sqs()).send(new ReceiveMessageCommand({ QueueUrl: deps.config.queues.work.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ['All'] }))
  const commands = Messages.map((m) => JSON.parse(m.Body ?? '{}')).sort((a, b) => a.paymentId.localeCompare(b.paymentId))
  t.same(commands, [{ type: 'charge', paymentId: stuckPending.id }, { type: 'charge', paymentId: stuckProcessing.id }].sort((a, b) => a.paymentId.localeCompare(b.paymentId)),
    'the fresh, the settled and the too-old payments were not re-sent')
  t.notOk(commands.some((c) => c.paymentId === ancient.id), 'a payment older than the providers\' idempotency window is reported, never re-charged')
})

t.test('payments too old to re-send never crowd out ones that can be, and are reported', async (t) => {
  const now = new Date('2026-11-27T12:00:00.000Z')
  const { deps, workers } = await build(t, { env: { SWEEP_STALE_AFTER_SECONDS: '900', SWEEP_MAX_PER_RUN: '1' }, deps: { clock: () => now } })
  const create = async (label: string, hoursAgo: number) => storePayment(deps, { customerId: `cus_${label}`, createdAt: new Date(now.getTime() - hoursAgo * HOUR) })
  for (const hours of [35, 34, 33]) await create(`old-${hours}`, hours)
  const resendable = await create('resendable', 16)

  t.same(await workers.scheduled?.(scheduled, createLocalContext('paylith-test', 30_000)), { resent: 1, gaveUp: 0, needAttention: 3 })
  const { Messages = [] } = await (await deps.sqs()).send(new ReceiveMessageCommand({ QueueUrl: deps.config.queues.work.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }))
  t.same(Messages.map((m) => JSON.parse(m.Body ?? '{}').paymentId), [resendable.id])
})

t.test('a payment the provider will settle by webhook leaves the unsettled index, so it is not re-charged', async (t) => {
  const now = new Date('2026-11-27T12:00:00.000Z')
  const { deps } = await build(t, { deps: { clock: () => now } })
  const payment = await storePayment(deps, { customerId: 'cus_sepa', createdAt: new Date(now.getTime() - 2 * HOUR) })
  const processing = await deps.payments.transition(payment, 'processing')
  await deps.payments.markAwaitingProvider(processing, 'pi_sepa')

  const stored = await deps.payments.get(payment.id)
  t.match(stored, { status: 'processing', providerRef: 'pi_sepa', awaitingProvider: true })
  t.same(await deps.payments.listUnsettled('2026-11-27', { from: '0', to: now.toISOString() }, 10), [])
  const settled = await deps.payments.transition(stored as NonNullable<typeof stored>, 'succeeded')
  t.equal(settled.status, 'succeeded', 'the webhook still settles it')
})

t.test('a payment the sweeper gives up on says so (attention) once, and a dead letter\'s attention is kept', async (t) => {
  let now = new Date('2026-11-27T12:00:00.000Z')
  const { deps, workers } = await build(t, { env: { SWEEP_STALE_AFTER_SECONDS: '900' }, deps: { clock: () => now } })
  const ancient = await storePayment(deps, { customerId: 'cus_ancient', createdAt: new Date(now.getTime() - 30 * HOUR) })
  const deadLettered = await storePayment(deps, { customerId: 'cus_dead_lettered', createdAt: new Date(now.getTime() - 30 * HOUR) })
  const ofDeadLetter = { reason: 'dead-lettered', since: '2026-11-27T09:00:00.000Z', deadLetterId: 'message-1' } as const
  await deps.payments.flagAttention(deadLettered, ofDeadLetter)
  const sweep = async () => workers.scheduled?.(scheduled, createLocalContext('paylith-test', 30_000))

  t.same(await sweep(), { resent: 0, gaveUp: 0, needAttention: 2 })
  t.same((await deps.payments.get(ancient.id))?.attention, { reason: 'unsettled-too-long', since: now.toISOString() })
  t.same((await deps.payments.get(deadLettered.id))?.attention, ofDeadLetter, 'the dead letter says more: kept')

  now = new Date('2026-11-27T12:05:00.000Z')
  t.same(await sweep(), { resent: 0, gaveUp: 0, needAttention: 2 }, 'still reported')
  t.equal((await deps.payments.get(ancient.id))?.attention?.since, '2026-11-27T12:00:00.000Z', 'since the sweeper first gave up on it')
  const stored = await deps.payments.get(ancient.id)
  t.equal(stored?.version, 1, 'the version did not move')
})

t.test('a short invocation still sweeps: the margin kept back scales with its time (a 3 s local budget)', async (t) => {
  const now = new Date('2026-11-27T12:00:00.000Z')
  const { deps, workers } = await build(t, { env: { SWEEP_STALE_AFTER_SECONDS: '900' }, deps: { clock: () => now } })
  const stuck = await storePayment(deps, { customerId: 'cus_short_budget', createdAt: new Date(now.getTime() - 2 * HOUR) })

  t.same(await workers.scheduled?.(scheduled, createLocalContext('paylith-test', 3_000)), { resent: 1, gaveUp: 0, needAttention: 0 })
  const { Messages = [] } = await (await deps.sqs()).send(new ReceiveMessageCommand({ QueueUrl: deps.config.queues.work.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }))
  t.same(Messages.map((m) => JSON.parse(m.Body ?? '{}').paymentId), [stuck.id])
})

t.test('a sweep cut short for lack of time says so in an error log line, never silently', async (t) => {
  const now = new Date('2026-11-27T12:00:00.000Z')
  const lines: Array<Record<string, unknown>> = []
  const logger = createLogger({ logLevel: 'info' }, new Writable({ write (chunk, _encoding, done) { lines.push(JSON.parse(String(chunk))); done() } }))
  const { deps, workers } = await build(t, { env: { SWEEP_STALE_AFTER_SECONDS: '900' }, logger, deps: { clock: () => now } })
  await storePayment(deps, { customerId: 'cus_no_time', createdAt: new Date(now.getTime() - 2 * HOUR) })
  // 1 s when the sweep starts, then nothing left.
  const remaining = [1_000]
  const context = { ...createLocalContext('paylith-test', 1_000), getRemainingTimeInMillis: () => remaining.shift() ?? 0 }

  t.same(await workers.scheduled?.(scheduled, context), { resent: 0, gaveUp: 0, needAttention: 0 })
  t.match(lines.find((line) => line.level === 50), { msg: /stopped before the end for lack of time/, resent: 0, budgetMs: 1_000, marginMs: 200 })
})

const SECOND = 1_000

t.test('a stuck payment is re-sent at growing intervals (stale × 2ⁿ after the n-th), at most SWEEP_MAX_RESENDS times', async (t) => {
  const created = new Date('2026-11-27T12:00:00.000Z').getTime()
  let now = created
  const { deps, workers } = await build(t, { env: { SWEEP_STALE_AFTER_SECONDS: '60', SWEEP_MAX_RESENDS: '3' }, deps: { clock: () => new Date(now) } })
  const payment = await storePayment(deps, { customerId: 'cus_backoff', createdAt: new Date(created) })
  const sweepAt = async (secondsAfterCreation: number) => {
    now = created + secondsAfterCreation * SECOND
    return workers.scheduled?.(scheduled, createLocalContext('paylith-test', 30_000))
  }

  t.same(await sweepAt(59), { resent: 0, gaveUp: 0, needAttention: 0 }, 'not stale yet')
  t.same(await sweepAt(61), { resent: 1, gaveUp: 0, needAttention: 0 }, 'the first re-send, once stale')
  t.same((await deps.payments.get(payment.id))?.resends, { count: 1, nextAt: new Date(created + (61 + 120) * SECOND).toISOString() })
  // Each interval doubles: 120 s after the first, 240 s after the second.
  let sentAt = 61
  for (const interval of [120, 240]) {
    t.same(await sweepAt(sentAt + interval - 1), { resent: 0, gaveUp: 0, needAttention: 0 }, `not due 1 s before its ${interval} s interval ends`)
    t.same(await sweepAt(sentAt + interval), { resent: 1, gaveUp: 0, needAttention: 0 }, `re-sent ${interval} s after the one before`)
    sentAt += interval
  }
  const stored = await deps.payments.get(payment.id)
  t.same(stored?.resends, { count: 3, nextAt: new Date(created + (sentAt + 480) * SECOND).toISOString() })
  t.equal(stored?.version, 1, 're-sends are not status changes: the version did not move')
  t.same((await deps.payments.history(payment.id))?.map((event) => event.status), ['pending'], 'and the history did not grow')

  t.same(await sweepAt(sentAt + 479), { resent: 0, gaveUp: 0, needAttention: 0 })
  t.same(await sweepAt(sentAt + 480), { resent: 0, gaveUp: 1, needAttention: 0 }, 'the bound: no fourth re-send, it is given up on')
  t.same(await sweepAt(sentAt + 10_000), { resent: 0, gaveUp: 0, needAttention: 0 }, 'once, and never re-sent after')
  const { Messages = [] } = await (await deps.sqs()).send(new ReceiveMessageCommand({ QueueUrl: deps.config.queues.work.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }))
  t.equal(Messages.length, 3, 'three charge commands in all')
})

t.test('the next re-send is due stale × 2ⁿ after the n-th', async (t) => {
  const sentAt = Date.parse('2026-11-27T12:00:00.000Z')
  t.same([1, 2, 5].map((count) => nextResendAt(sentAt, count, 900 * SECOND)), ['2026-11-27T12:30:00.000Z', '2026-11-27T13:00:00.000Z', '2026-11-27T20:00:00.000Z'])
})

t.test('a payment the sweeper gave up re-sending says so on GET /v1/payments/{id} and in a metric, keeping a dead letter\'s id', async (t) => {
  const now = new Date('2026-11-27T12:00:00.000Z')
  const documents: string[] = []
  const { app, deps, workers } = await build(t, { env: { SWEEP_STALE_AFTER_SECONDS: '60', SWEEP_MAX_RESENDS: '0' }, deps: { clock: () => now, metricsDestination: { write: (chunk: string) => documents.push(chunk) } } })
  const payment = await storePayment(deps, { customerId: 'cus_exhausted', createdAt: new Date(now.getTime() - 2 * HOUR) })
  await deps.payments.flagAttention(payment, { reason: 'dead-lettered', since: '2026-11-27T11:00:00.000Z', deadLetterId: 'message-9' })

  t.same(await workers.scheduled?.(scheduled, createLocalContext('paylith-test', 30_000)), { resent: 0, gaveUp: 1, needAttention: 0 })
  deps.metrics.flush()

  const read = await app.inject({ method: 'GET', url: `/v1/payments/${payment.id}`, headers: bearer() })
  t.equal(read.statusCode, 200)
  t.same(read.json().attention, { reason: 'resends-exhausted', since: now.toISOString(), deadLetterId: 'message-9' })
  const metric = documents.join('').split('\n').filter((line) => line !== '').map((line) => JSON.parse(line)).find((doc) => doc.PaymentsNeedAttention !== undefined)
  t.match(metric, { reason: 'resends-exhausted', PaymentsNeedAttention: 1 })
})

t.test('two overlapping sweeps never both re-send a payment', async (t) => {
  const now = new Date('2026-11-27T12:00:00.000Z')
  const { deps, workers } = await build(t, { env: { SWEEP_STALE_AFTER_SECONDS: '900' }, deps: { clock: () => now } })
  const ids = new Set<string>()
  for (let i = 0; i < 8; i++) ids.add((await storePayment(deps, { customerId: `cus_overlap_${i}`, createdAt: new Date(now.getTime() - 2 * HOUR) })).id)

  const sweeps = await Promise.all([1, 2, 3].map(async () => workers.scheduled?.(scheduled, createLocalContext('paylith-test', 30_000)))) as Array<{ resent: number }>
  t.equal(sweeps.reduce((sum, result) => sum + result.resent, 0), 8, 'eight re-sends among the three sweeps')
  const received: string[] = []
  for (let polls = 0; polls < 5 && received.length < 8; polls++) {
    const { Messages = [] } = await (await deps.sqs()).send(new ReceiveMessageCommand({ QueueUrl: deps.config.queues.work.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 60 }))
    received.push(...Messages.map((m) => JSON.parse(m.Body ?? '{}').paymentId as string))
  }
  t.same(received.sort(), [...ids].sort(), 'one charge command per payment')
  for (const id of ids) t.equal((await deps.payments.get(id))?.resends?.count, 1)
})

t.test('a payment that moves keeps its re-sends and loses only its attention; stuck again, it is flagged again, not re-sent', async (t) => {
  let now = new Date('2026-11-27T12:00:00.000Z')
  const { deps, workers } = await build(t, { env: { SWEEP_STALE_AFTER_SECONDS: '60', SWEEP_MAX_RESENDS: '1' }, deps: { clock: () => now } })
  const sweep = async () => workers.scheduled?.(scheduled, createLocalContext('paylith-test', 30_000))
  const payment = await storePayment(deps, { customerId: 'cus_moves', createdAt: new Date(now.getTime() - 2 * HOUR) })
  t.same(await sweep(), { resent: 1, gaveUp: 0, needAttention: 0 })
  now = new Date(now.getTime() + HOUR)
  t.same(await sweep(), { resent: 0, gaveUp: 1, needAttention: 0 })

  const before = await deps.payments.get(payment.id)
  const moved = await deps.payments.transition(before as NonNullable<typeof before>, 'processing')
  const stored = await deps.payments.get(payment.id)
  t.equal(stored?.version, 2)
  t.notOk(stored !== undefined && 'attention' in stored, 'its attention is cleared by the move')
  t.same(stored?.resends, before?.resends, 'its re-sends are kept: moving gives no fresh budget')
  t.same((await deps.payments.history(payment.id))?.map((event) => [event.version, event.status]), [[1, 'pending'], [2, 'processing']])

  t.same(await sweep(), { resent: 0, gaveUp: 1, needAttention: 0 }, 'stuck again: flagged again, not re-sent')
  t.match((await deps.payments.get(payment.id))?.attention, { reason: 'resends-exhausted' })
  t.equal(await deps.payments.recordResend(moved, { count: 2, nextAt: now.toISOString() }), true, 'the store still takes the next count at the moved version')
  t.equal(await deps.payments.recordResend(moved, { count: 2, nextAt: now.toISOString() }), false, 'but not twice')
  t.equal(await deps.payments.recordResend(payment, { count: 3, nextAt: now.toISOString() }), false, 'nor at a version it moved from')
})

t.test('the restart recovery re-sends unsettled payments without counting it, and not those given up on', async (t) => {
  const now = new Date('2026-11-27T12:00:00.000Z')
  const { deps } = await build(t, { env: { SWEEP_MAX_RESENDS: '0' }, deps: { clock: () => now } })
  const fresh = await storePayment(deps, { customerId: 'cus_fresh', createdAt: new Date(now.getTime() - SECOND) })
  const givenUp = await storePayment(deps, { customerId: 'cus_given_up', createdAt: new Date(now.getTime() - 2 * HOUR) })
  await deps.payments.flagResendsExhausted({ ...givenUp, resends: 0 }, { reason: 'resends-exhausted', since: now.toISOString() })
  const recover = createSweeper(deps, { staleAfterMs: 0, maxPerRun: 10, maxResends: 0, recovery: true })

  t.same(await recover(scheduled, createLocalContext('paylith-test', 30_000)), { resent: 1, gaveUp: 0, needAttention: 0 })
  t.equal((await deps.payments.get(fresh.id))?.resends, undefined, 'not counted as a re-send')
  const { Messages = [] } = await (await deps.sqs()).send(new ReceiveMessageCommand({ QueueUrl: deps.config.queues.work.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }))
  t.same(Messages.map((m) => JSON.parse(m.Body ?? '{}').paymentId), [fresh.id])
})

t.test('the sweeper finds stale payments in every shard of the day, the oldest first across them all, as one partition gave them', async (t) => {
  const now = new Date('2026-11-27T12:00:00.000Z')
  const { deps, workers } = await build(t, { env: { SWEEP_STALE_AFTER_SECONDS: '900', SWEEP_MAX_PER_RUN: '10' }, deps: { clock: () => now } })
  // 40 stale payments a minute apart (3 h to 2 h 21 min old), and a fresh one.
  const stale = []
  for (let i = 0; i < 40; i++) stale.push(await storePayment(deps, { customerId: `cus_spread_${i}`, createdAt: new Date(now.getTime() - 3 * HOUR + i * 60 * SECOND) }))
  await storePayment(deps, { customerId: 'cus_spread_fresh', createdAt: new Date(now.getTime() - 60 * SECOND) })
  const shards = new Set(stale.map((payment) => unsettledShard(payment.id)))
  t.ok(shards.size >= 8, `spread over ${shards.size} shards`)

  const listed = await deps.payments.listUnsettled('2026-11-27', { from: '0', to: new Date(now.getTime() - 900 * SECOND).toISOString() }, 100)
  t.same(listed.map((entry) => entry.id), stale.map((payment) => payment.id), 'every stale payment once, oldest first, not the fresh one')
  t.same((await deps.payments.listUnsettled('2026-11-27', { from: '0', to: now.toISOString() }, 5)).map((entry) => entry.id), stale.slice(0, 5).map((payment) => payment.id), 'a limit keeps the oldest')

  const received = async (count: number) => {
    const ids: string[] = []
    for (let polls = 0; polls < 5 && ids.length < count; polls++) {
      const { Messages = [] } = await (await deps.sqs()).send(new ReceiveMessageCommand({ QueueUrl: deps.config.queues.work.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 60 }))
      ids.push(...Messages.map((m) => JSON.parse(m.Body ?? '{}').paymentId as string))
    }
    return ids.sort()
  }
  const sweep = async () => workers.scheduled?.(scheduled, createLocalContext('paylith-test', 30_000))
  t.same(await sweep(), { resent: 10, gaveUp: 0, needAttention: 0 })
  t.same(await received(10), stale.slice(0, 10).map((payment) => payment.id).sort(), 'SWEEP_MAX_PER_RUN re-sends: the ten oldest, whatever their shard')
  t.same(await sweep(), { resent: 10, gaveUp: 0, needAttention: 0 })
  t.same(await received(10), stale.slice(10, 20).map((payment) => payment.id).sort(), 'the next sweep, the next ten (the first are not due again yet)')
})
