import { Writable } from 'node:stream'
import t from 'tap'
import type { Logger } from 'pino'
import { startLocalRuntime } from '../src/local/runtime.js'
import { createLogger } from '../src/observability/logger.js'
import { bearer, testConfig } from './helpers/build.js'
import { jsonLines } from './helpers/lines.js'
import { waitFor } from './helpers/wait.js'

// Refunds end to end on the local runtime: HTTP server, stream and SQS pollers, emulator, and the
// sandbox, which answers each refund and sends its signed refund.succeeded / refund.failed webhook.

const STANDARD_SECRET = `whsec_${Buffer.from('refunds pipeline standard secret').toString('base64')}`

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers of the API under test
type Json = any

t.test('create → succeed → partial refund → failed refund → full refund, on the local runtime', async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const logger: Logger = createLogger({ logLevel: 'info' }, new Writable({ write (chunk, _e, done) { lines.push(JSON.parse(String(chunk))); done() } }))
  const config = await testConfig(t.name, {
    PORT: '0',
    SQS_WAIT_TIME_SECONDS: '1',
    VISIBILITY_TIMEOUT_SECONDS: '2',
    STREAM_POLL_INTERVAL_MS: '50',
    WEBHOOK_SECRETS: `standard=${STANDARD_SECRET}`
  })
  const metrics = jsonLines()
  const runtime = await startLocalRuntime(config, logger, { metricsDestination: metrics.sink })
  t.teardown(() => runtime.stop())
  const api = async (method: string, path: string, body?: unknown, key?: string): Promise<{ status: number, body: Json }> => {
    const response = await fetch(`${runtime.url}${path}`, {
      method,
      headers: { ...bearer(), ...(body !== undefined && { 'content-type': 'application/json' }), ...(key !== undefined && { 'idempotency-key': key }) },
      ...(body !== undefined && { body: JSON.stringify(body) })
    })
    return { status: response.status, body: await response.json() }
  }
  const refundStatus = async (refundId: string): Promise<string> => (await api('GET', `/v1/refunds/${refundId}`)).body.status

  const created = await api('POST', '/v1/payments', { amount: 10_000, currency: 'EUR', customerId: 'cus_refunds' }, 'pay-1')
  const paymentId: string = created.body.id
  await waitFor('the payment to succeed', async () => (await api('GET', `/v1/payments/${paymentId}`)).body.status === 'succeeded', { timeoutMs: 20_000 })

  const partial = await api('POST', `/v1/payments/${paymentId}/refunds`, { amount: 2_500, reason: 'requested_by_customer' }, 'refund-1')
  t.equal(partial.status, 201)
  t.equal(partial.body.status, 'pending')
  await waitFor('the partial refund to succeed', async () => (await refundStatus(partial.body.id)) === 'succeeded', { timeoutMs: 20_000 })
  t.match((await api('GET', `/v1/payments/${paymentId}`)).body, { status: 'partially_refunded', amountRefunded: 2_500 })

  const declined = await api('POST', `/v1/payments/${paymentId}/refunds`, { amount: 1_051 }, 'refund-2')
  await waitFor('the declined refund to fail', async () => (await refundStatus(declined.body.id)) === 'failed', { timeoutMs: 20_000 })
  t.equal((await api('GET', `/v1/refunds/${declined.body.id as string}`)).body.failureReason, 'refund_declined')

  const rest = await api('POST', `/v1/payments/${paymentId}/refunds`, {}, 'refund-3')
  t.equal(rest.body.amount, 7_500, 'the failed refund gave its amount back')
  await waitFor('the full refund to succeed', async () => (await refundStatus(rest.body.id)) === 'succeeded', { timeoutMs: 20_000 })
  t.match((await api('GET', `/v1/payments/${paymentId}`)).body, { status: 'refunded', amountRefunded: 10_000 })
  t.equal((await api('POST', `/v1/payments/${paymentId}/refunds`, { amount: 1 }, 'refund-4')).status, 409, 'refunded in full: nothing more to refund')

  const list = (await api('GET', `/v1/payments/${paymentId}/refunds`)).body.data.map((refund: Json) => [refund.amount, refund.status])
  t.same(list, [[2_500, 'succeeded'], [1_051, 'failed'], [7_500, 'succeeded']])
  const history = (await api('GET', `/v1/payments/${paymentId}/events`)).body.data.map((event: Json) => event.status)
  t.same(history, ['pending', 'processing', 'succeeded', 'partially_refunded', 'refunded'])
  for (const refundId of [partial.body.id, declined.body.id, rest.body.id]) t.ok((runtime.sandbox?.refundsFor(refundId) ?? 0) <= 1, 'refunded at most once')

  // The sandbox's own webhooks for each refund arrive after the worker ended it: they change nothing.
  await runtime.sandbox?.drain()
  await waitFor('the sandbox refund webhooks to be applied', () => lines.filter((line) => line.msg === 'refund already ended: nothing changes').length >= 3, { timeoutMs: 20_000 })
  t.match((await api('GET', `/v1/payments/${paymentId}`)).body, { status: 'refunded', amountRefunded: 10_000 })
  const counted = (name: string) => metrics.lines.filter((document) => document[name] === 1).length
  t.same([counted('RefundCreated'), counted('RefundSucceeded'), counted('RefundFailed')], [3, 2, 1], 'one metric document per event')
  const summary = await waitFor('the customer summary to count the refunds', async () => {
    const { body } = await api('GET', '/v1/customers/cus_refunds/summary')
    return body.refunded.length > 0 && body.totals.some((bucket: Json) => bucket.status === 'refunded') ? body : undefined
  })
  t.same(summary.refunded, [{ currency: 'EUR', amount: 10_000 }])
  t.same(summary.totals, [{ currency: 'EUR', status: 'refunded', count: 1, amount: 10_000 }])
})
