import { ReceiveMessageCommand } from '@aws-sdk/client-sqs'
import t from 'tap'
import { createLocalContext } from '../../src/local/lambda-context.js'
import type { StoredWebhookEvent } from '../../src/store/webhooks.js'
import { createWebhookSafetyNet, type WebhookSafetyNetOptions } from '../../src/workers/webhook-safety-net.js'
import { build, type Built } from '../helpers/build.js'
import { sqsEvent } from '../helpers/events.js'
import { jsonLines } from '../helpers/lines.js'
import { storePayment } from '../helpers/payments.js'

const scheduled = { version: '0', id: 'e', 'detail-type': 'Scheduled Event' as const, source: 'aws.events' as const, account: '1', time: '', region: 'us-east-1', resources: [], detail: {} }
const context = () => createLocalContext('paylith-test', 30_000)
const HOUR_MS = 3_600_000

function webhookEvent (eventId: string, paymentId: string, receivedAt: Date, type: StoredWebhookEvent['type'] = 'payment.succeeded'): StoredWebhookEvent {
  return { provider: 'standard', eventId, providerType: type, type, paymentId, payload: Buffer.from('{}'), receivedAt: receivedAt.toISOString(), expiresAt: 1_900_000_000 }
}

/** The commands waiting in the work queue, parsed. */
async function commands (built: Built): Promise<unknown[]> {
  const { Messages = [] } = await built.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: built.resources.queues.work.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }))
  return Messages.map((message) => JSON.parse(message.Body ?? '{}'))
}

/** Applies one stored event through the work-queue worker, as its apply-webhook command would. */
async function apply (built: Built, eventId: string): Promise<void> {
  const response = await built.workers.queues[built.config.queues.work.name]?.(sqsEvent(built.config.queues.work.name, [JSON.stringify({ type: 'apply-webhook', provider: 'standard', eventId })]), context())
  if (response?.batchItemFailures.length !== 0) throw new Error(`${eventId} was not applied`)
}

t.test('the scheduled run re-sends the apply-webhook command of an event stored but never applied, and not of one that was applied', async (t) => {
  const metrics = jsonLines()
  const built = await build(t, { deps: { metricsDestination: metrics.sink } })
  const payment = await storePayment(built.deps)
  const anHourAgo = new Date(Date.now() - HOUR_MS)
  await built.deps.webhooks.recordOnce(webhookEvent('msg_applied', payment.id, anHourAgo))
  await built.deps.webhooks.recordOnce(webhookEvent('msg_lost', payment.id, anHourAgo))
  await apply(built, 'msg_applied')
  t.match(await built.deps.webhooks.get('standard', 'msg_applied'), { appliedAt: /^\d{4}-/ }, 'applying marks the event applied')

  t.same(await built.workers.scheduled?.(scheduled, context()), { resent: 0, gaveUp: 0, needAttention: 0 }, 'the sweep\'s own answer is unchanged')
  built.deps.metrics.flush()

  t.same(await commands(built), [{ type: 'apply-webhook', provider: 'standard', eventId: 'msg_lost' }])
  t.same(metrics.lines.filter((line) => 'WebhooksResent' in line).map((line) => line.WebhooksResent), [1], 'counted in WebhooksResent')
  await apply(built, 'msg_lost')
  t.equal((await built.deps.webhooks.listUnapplied(new Date().toISOString(), 10)).length, 0, 'once applied, nothing is waited for')
})

t.test('an ignored event, never relayed, is never waited for', async (t) => {
  const built = await build(t)
  await built.deps.webhooks.recordOnce(webhookEvent('msg_ignored', 'pay_x', new Date(Date.now() - HOUR_MS), 'ignored'))
  t.same(await built.deps.webhooks.listUnapplied(new Date().toISOString(), 10), [])
})

t.test('each run is bounded and re-sends an event once per staleness interval, at most maxResends times, then gives up', async (t) => {
  const metrics = jsonLines()
  const built = await build(t, { deps: { metricsDestination: metrics.sink } })
  let now = new Date('2026-11-28T12:00:00.000Z')
  const options: WebhookSafetyNetOptions = { staleAfterMs: 900_000, maxPerRun: 2, maxResends: 2 }
  const net = createWebhookSafetyNet({ ...built.deps, clock: () => now }, options)
  // Spread over the index's shards: the run reads them all, a page at a time.
  for (let i = 0; i < 3; i++) await built.deps.webhooks.recordOnce(webhookEvent(`msg_${i}`, `pay_${i}`, new Date(now.getTime() - HOUR_MS + i)))
  const run = async () => net(scheduled, context())

  t.same(await run(), { webhooksResent: 2, webhooksGivenUp: 0 }, 'at most maxPerRun')
  t.same(await run(), { webhooksResent: 1, webhooksGivenUp: 0 }, 'the rest next time; those re-sent wait a staleness interval again')
  t.same(await run(), { webhooksResent: 0, webhooksGivenUp: 0 })
  now = new Date(now.getTime() + options.staleAfterMs + 1)
  t.same(await run(), { webhooksResent: 2, webhooksGivenUp: 0 })
  t.same(await run(), { webhooksResent: 1, webhooksGivenUp: 0 })
  now = new Date(now.getTime() + options.staleAfterMs + 1)
  t.same(await run(), { webhooksResent: 0, webhooksGivenUp: 2 }, 'each was re-sent maxResends times: given up')
  t.same(await run(), { webhooksResent: 0, webhooksGivenUp: 1 })
  t.same(await run(), { webhooksResent: 0, webhooksGivenUp: 0 })
  built.deps.metrics.flush()
  t.same(metrics.lines.filter((line) => 'WebhooksGivenUp' in line).map((line) => line.WebhooksGivenUp), [2, 1], 'each give-up counted in WebhooksGivenUp (which alarms), once per run')
  t.match(await built.deps.webhooks.get('standard', 'msg_0'), { applyGaveUpAt: now.toISOString() })
  const sent = [...await commands(built), ...await commands(built)]
  t.ok(sent.length > 0 && sent.every((command) => (command as { type: string }).type === 'apply-webhook'))
})

t.test('of two overlapping runs only one re-sends an event', async (t) => {
  const built = await build(t)
  const net = createWebhookSafetyNet(built.deps, { staleAfterMs: 900_000, maxPerRun: 10, maxResends: 5 })
  await built.deps.webhooks.recordOnce(webhookEvent('msg_once', 'pay_once', new Date(Date.now() - HOUR_MS)))
  const runs = await Promise.all([1, 2, 3].map(async () => net(scheduled, context())))
  t.equal(runs.reduce((sum, run) => sum + run.webhooksResent, 0), 1)
})
