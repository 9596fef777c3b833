import { Writable } from 'node:stream'
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs'
import t from 'tap'
import { createLocalContext } from '../../src/local/lambda-context.js'
import { createLogger } from '../../src/observability/logger.js'
import { build } from '../helpers/build.js'
import { storePayment } from '../helpers/payments.js'

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
  t.same(result, { resent: 2, needAttention: 1 })

  const { Messages = [] } = await deps.sqs.send(new ReceiveMessageCommand({ QueueUrl: deps.config.queues.work.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ['All'] }))
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

  t.same(await workers.scheduled?.(scheduled, createLocalContext('paylith-test', 30_000)), { resent: 1, needAttention: 3 })
  const { Messages = [] } = await deps.sqs.send(new ReceiveMessageCommand({ QueueUrl: deps.config.queues.work.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }))
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

  t.same(await sweep(), { resent: 0, needAttention: 2 })
  t.same((await deps.payments.get(ancient.id))?.attention, { reason: 'unsettled-too-long', since: now.toISOString() })
  t.same((await deps.payments.get(deadLettered.id))?.attention, ofDeadLetter, 'the dead letter says more: kept')

  now = new Date('2026-11-27T12:05:00.000Z')
  t.same(await sweep(), { resent: 0, needAttention: 2 }, 'still reported')
  t.equal((await deps.payments.get(ancient.id))?.attention?.since, '2026-11-27T12:00:00.000Z', 'since the sweeper first gave up on it')
  const stored = await deps.payments.get(ancient.id)
  t.equal(stored?.version, 1, 'the version did not move')
})

t.test('a short invocation still sweeps: the margin kept back scales with its time (a 3 s local budget)', async (t) => {
  const now = new Date('2026-11-27T12:00:00.000Z')
  const { deps, workers } = await build(t, { env: { SWEEP_STALE_AFTER_SECONDS: '900' }, deps: { clock: () => now } })
  const stuck = await storePayment(deps, { customerId: 'cus_short_budget', createdAt: new Date(now.getTime() - 2 * HOUR) })

  t.same(await workers.scheduled?.(scheduled, createLocalContext('paylith-test', 3_000)), { resent: 1, needAttention: 0 })
  const { Messages = [] } = await deps.sqs.send(new ReceiveMessageCommand({ QueueUrl: deps.config.queues.work.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }))
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

  t.same(await workers.scheduled?.(scheduled, context), { resent: 0, needAttention: 0 })
  t.match(lines.find((line) => line.level === 50), { msg: /stopped before the end for lack of time/, resent: 0, budgetMs: 1_000, marginMs: 200 })
})
