import { Writable } from 'node:stream'
import { SendMessageCommand } from '@aws-sdk/client-sqs'
import { Webhook } from 'standardwebhooks'
import t from 'tap'
import type { Logger } from 'pino'
import { startLocalRuntime, type LocalRuntime } from '../src/local/runtime.js'
import { createLogger } from '../src/observability/logger.js'
import { bearer, testConfig, type Teardownable } from './helpers/build.js'
import { jsonLines } from './helpers/lines.js'
import { waitFor } from './helpers/wait.js'

// End to end on the local runtime: HTTP server, SQS and stream pollers, emulator, sandbox.

const STANDARD_SECRET = `whsec_${Buffer.from('pipeline test standard secret!!').toString('base64')}`

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers of the API under test
type Json = any

interface Harness {
  runtime: LocalRuntime
  lines: Array<Record<string, unknown>>
  /** The metric documents written. */
  metrics: Array<Record<string, unknown>>
  api: (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<{ status: number, body: Json }>
  create: (amount: number, customerId: string) => Promise<string>
  statusOf: (paymentId: string) => Promise<string>
  waitForStatus: (paymentId: string, status: string) => Promise<void>
}

async function start (t: Teardownable, env: Record<string, string> = {}): Promise<Harness> {
  const lines: Array<Record<string, unknown>> = []
  const logger: Logger = createLogger({ logLevel: 'info' }, new Writable({ write (chunk, _e, done) { lines.push(JSON.parse(String(chunk))); done() } }))
  const config = await testConfig(t.name, {
    PORT: '0',
    SQS_WAIT_TIME_SECONDS: '1',
    VISIBILITY_TIMEOUT_SECONDS: '2',
    MAX_RECEIVE_COUNT: '3',
    STREAM_POLL_INTERVAL_MS: '50',
    PROVIDER_BACKOFF_BASE_MS: '10',
    PROVIDER_BACKOFF_CAP_MS: '50',
    WEBHOOK_SECRETS: `standard=${STANDARD_SECRET}`,
    ...env
  })
  const metrics = jsonLines()
  const runtime = await startLocalRuntime(config, logger, { metricsDestination: metrics.sink })
  t.teardown(() => runtime.stop())
  const api: Harness['api'] = async (method, path, body, headers = {}) => {
    const response = await fetch(`${runtime.url}${path}`, {
      method,
      headers: { ...bearer(), ...(body !== undefined && { 'content-type': 'application/json' }), ...headers },
      ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) })
    })
    const text = await response.text()
    return { status: response.status, body: text === '' ? undefined : JSON.parse(text) }
  }
  const create = async (amount: number, customerId: string): Promise<string> => {
    const response = await api('POST', '/v1/payments', { amount, currency: 'EUR', customerId }, { 'idempotency-key': `k-${amount}-${customerId}-${Math.random()}` })
    if (response.status !== 201) throw new Error(`create answered ${response.status}`)
    return response.body.id as string
  }
  const statusOf = async (paymentId: string): Promise<string> => (await api('GET', `/v1/payments/${paymentId}`)).body.status as string
  const waitForStatus = async (paymentId: string, status: string): Promise<void> => {
    await waitFor(`${paymentId} to be ${status}`, async () => (await statusOf(paymentId)) === status, { timeoutMs: 20_000 })
  }
  return { runtime, lines, metrics: metrics.lines, api, create, statusOf, waitForStatus }
}

async function postStandardWebhook (harness: Harness, id: string, payload: unknown): Promise<number> {
  const body = JSON.stringify(payload)
  const at = new Date()
  const response = await fetch(`${harness.runtime.url}/v1/webhooks/standard`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': new Webhook(STANDARD_SECRET).sign(id, at, body) },
    body
  })
  await response.body?.cancel()
  return response.status
}

t.test('the whole loop', async (t) => {
  const harness = await start(t)
  const { api, create, waitForStatus, runtime } = harness

  t.test('a payment reaches succeeded, charged once, with its history', async (t) => {
    const id = await create(1000, 'cus_e2e')
    await waitForStatus(id, 'succeeded')
    t.equal(runtime.sandbox?.chargesFor(id), 1, 'charged exactly once')
    // The sandbox's own webhook for this charge is applied after the charge settled it.
    await waitFor('the sandbox webhook to be applied', () => harness.lines.some((line) => line.correlationId === id && line.msg === 'no status change: the payment is already past it'))
    const history = (await api('GET', `/v1/payments/${id}/events`)).body.data.map((e: { status: string }) => e.status)
    t.same(history, ['pending', 'processing', 'succeeded'], 'the webhook changed nothing')
    const story = harness.lines.filter((line) => line.correlationId === id).map((line) => line.msg)
    t.ok(story.includes('payment status changed'), 'the charge worker\'s lines carry the payment as correlation id, and so do the webhook worker\'s')
  })

  t.test('a decline reaches failed', async (t) => {
    const id = await create(1051, 'cus_e2e')
    await waitForStatus(id, 'failed')
    t.equal(runtime.sandbox?.chargesFor(id), 0)
  })

  t.test('a transient failure is retried and then succeeds', async (t) => {
    const id = await create(1061, 'cus_e2e')
    await waitForStatus(id, 'succeeded')
    t.ok((runtime.sandbox?.attemptsFor(id) ?? 0) >= 2, 'the provider was tried again')
    t.equal(runtime.sandbox?.chargesFor(id), 1)
  })

  t.test('a duplicate and an out-of-order webhook leave exactly one effect', async (t) => {
    const id = await create(1000, 'cus_hooks')
    await waitForStatus(id, 'succeeded')
    await runtime.sandbox?.drain()
    t.equal(await postStandardWebhook(harness, 'msg_late_fail', { type: 'payment.failed', data: { paymentId: id, reason: 'late' } }), 200)
    t.equal(await postStandardWebhook(harness, 'msg_refund', { type: 'payment.refunded', data: { paymentId: id } }), 200)
    t.equal(await postStandardWebhook(harness, 'msg_refund', { type: 'payment.refunded', data: { paymentId: id } }), 200, 'duplicate delivery')
    await waitForStatus(id, 'refunded')
    t.equal(await postStandardWebhook(harness, 'msg_late_success', { type: 'payment.succeeded', data: { paymentId: id } }), 200)
    // Give the late events every chance to (wrongly) act.
    await waitFor('the late success to be handled', () => harness.lines.some((line) => line.msg === 'no status change: the payment is already past it' && line.paymentId === id && line.to === 'succeeded'), { timeoutMs: 15_000 })
    const history = (await api('GET', `/v1/payments/${id}/events`)).body.data.map((e: { status: string }) => e.status)
    t.same(history, ['pending', 'processing', 'succeeded', 'refunded'], 'one refund, nothing backwards')
  })

  t.test('the customer summary matches the payments', async (t) => {
    const ids = [await create(2000, 'cus_sum'), await create(3000, 'cus_sum'), await create(4051, 'cus_sum')]
    await Promise.all([waitForStatus(ids[0] as string, 'succeeded'), waitForStatus(ids[1] as string, 'succeeded'), waitForStatus(ids[2] as string, 'failed')])
    const expected = [
      { currency: 'EUR', status: 'failed', count: 1, amount: 4051 },
      { currency: 'EUR', status: 'succeeded', count: 2, amount: 5000 }
    ]
    const summary = await waitFor('the summary to catch up', async () => {
      const { body } = await api('GET', '/v1/customers/cus_sum/summary')
      return JSON.stringify(body.totals) === JSON.stringify(expected) ? body : undefined
    })
    t.same(summary.totals, expected)
    t.match(summary.lastPaymentAt, /^\d{4}-/)
  })

  t.test('a poison message ends as a dead-letter record, and can be redriven once', async (t) => {
    const poison = JSON.stringify({ type: 'charge', paymentId: 'pay_01JDQ3V0J6Q8ZC7W8E5T0R2N4M' })
    await (await runtime.deps.sqs()).send(new SendMessageCommand({ QueueUrl: runtime.config.queues.work.url, MessageBody: poison }))
    const deadLetter = await waitFor('the dead letter', async () => {
      const { body } = await api('GET', '/v1/dead-letters?limit=10', undefined, bearer('admin'))
      return body.data.find((d: { body: string }) => d.body === poison)
    }, { timeoutMs: 30_000 })
    t.match(deadLetter, { kind: 'message', status: 'open', sourceQueue: runtime.config.queues.work.name })
    t.ok(harness.metrics.some((line) => typeof line.DeadLetters === 'number' && line.DeadLetters >= 1 && line.kind === 'message'), 'the alert metric was emitted')

    const forbidden = await api('GET', '/v1/dead-letters', undefined, bearer('read'))
    t.equal(forbidden.status, 403, 'admin only')
    const redrive = await api('POST', `/v1/dead-letters/${deadLetter.messageId}/redrive`, undefined, bearer('admin'))
    t.equal(redrive.status, 200)
    t.match(redrive.body, { status: 'redriven', redrivenAt: /^\d{4}-/ })
    const again = await api('POST', `/v1/dead-letters/${deadLetter.messageId}/redrive`, undefined, bearer('admin'))
    t.equal(again.status, 409)
    t.equal(again.body.type, 'https://paylith.dev/problems/conflict')
    const missing = await api('POST', '/v1/dead-letters/nope/redrive', undefined, bearer('admin'))
    t.equal(missing.status, 404)
  })
})

t.test('the provider down: the breaker opens, nothing is charged twice or lost, and all settle after recovery', async (t) => {
  const harness = await start(t, {
    BREAKER_VOLUME_THRESHOLD: '3',
    BREAKER_RESET_TIMEOUT_MS: '500',
    PROVIDER_MAX_ATTEMPTS: '1',
    MAX_RECEIVE_COUNT: '50'
  })
  const { runtime, create, waitForStatus, metrics } = harness
  runtime.sandbox?.setDown(true)
  const ids: string[] = []
  for (let i = 0; i < 5; i++) ids.push(await create(5000 + i * 100, 'cus_down'))

  await waitFor('the breaker to open', () => metrics.some((line) => line.CircuitOpened === 1), { timeoutMs: 20_000 })
  for (const id of ids) t.match(await harness.statusOf(id), /^(pending|processing)$/, 'not settled while the provider is down')

  runtime.sandbox?.setDown(false)
  for (const id of ids) await waitForStatus(id, 'succeeded')
  for (const id of ids) t.equal(runtime.sandbox?.chargesFor(id), 1, `${id} charged exactly once`)
  const { body } = await harness.api('GET', '/v1/dead-letters?limit=100', undefined, bearer('admin'))
  t.equal(body.data.length, 0, 'no message was dead-lettered')
})
