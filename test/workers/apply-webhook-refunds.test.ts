import t from 'tap'
import type { Deps } from '../../src/deps.js'
import type { Payment } from '../../src/domain/payment.js'
import { normalizeWebhookEvent } from '../../src/domain/webhooks/normalize.js'
import type { WebhookProvider } from '../../src/domain/webhooks/providers.js'
import { createMetrics } from '../../src/observability/metrics.js'
import type { SandboxProvider } from '../../src/providers/sandbox.js'
import { createApplyWebhookHandler } from '../../src/workers/apply-webhook.js'
import { createRefundHandler } from '../../src/workers/refund.js'
import { createLocalContext } from '../../src/local/lambda-context.js'
import { build, bearer, withBreaker, type Built } from '../helpers/build.js'
import { jsonLines } from '../helpers/lines.js'
import { storeSucceededPayment } from '../helpers/payments.js'
import { sqsRecord } from '../helpers/events.js'

// Webhooks about refunds, applied as the apply-webhook worker does, against the worker's own outcome.

function harness (built: Built) {
  const documents = jsonLines()
  const metrics = createMetrics({ destination: documents.sink })
  const deps: Deps = { ...built.deps, metrics }
  let n = 0
  /** Stores a verified webhook as the route does, then applies it. */
  const deliver = async (provider: WebhookProvider, payload: Record<string, unknown>, id = `msg_${++n}_${Math.random()}`): Promise<void> => {
    const event = normalizeWebhookEvent(provider, payload, id)
    await deps.webhooks.recordOnce({ provider, ...event, payload: new TextEncoder().encode(JSON.stringify(payload)), receivedAt: new Date().toISOString(), expiresAt: Math.floor(Date.now() / 1000) + 3600 })
    await createApplyWebhookHandler(deps)({ type: 'apply-webhook', provider, eventId: event.eventId }, sqsRecord('q', '{}'), undefined)
  }
  const worker = async (payment: Payment, refundId: string): Promise<void> => {
    await createRefundHandler(withBreaker(deps))({ type: 'refund', paymentId: payment.id, refundId }, sqsRecord('q', '{}'), createLocalContext('paylith-test', 30_000))
  }
  const counted = (name: string): number => {
    metrics.flush()
    return documents.lines.filter((document) => document[name] === 1).length
  }
  return { deps, deliver, worker, counted }
}

async function requestRefund (built: Built, payment: Payment, amount: number): Promise<string> {
  const response = await built.app.inject({ method: 'POST', url: `/v1/payments/${payment.id}/refunds`, headers: { ...bearer(), 'idempotency-key': `k-${Math.random()}` }, payload: { amount } })
  return response.json().id
}

const standard = (type: string, data: Record<string, unknown>) => ({ type, data })

t.test('the worker first, then the refund.succeeded webhook: the webhook changes nothing', async (t) => {
  const built = await build(t)
  const { deps, deliver, worker, counted } = harness(built)
  const payment = await storeSucceededPayment(built.deps, { amount: 1000 })
  const refundId = await requestRefund(built, payment, 400)
  await worker(payment, refundId)
  await deliver('standard', standard('refund.succeeded', { refundId, paymentId: payment.id, amount: 400 }))
  t.match(await deps.payments.get(payment.id), { status: 'partially_refunded', amountRefunded: 400, version: payment.version + 1 })
  t.equal(counted('RefundSucceeded'), 1)
})

t.test('the refund.succeeded webhook first, then the worker: the worker acknowledges without calling the provider', async (t) => {
  const built = await build(t)
  const { deps, deliver, worker, counted } = harness(built)
  const payment = await storeSucceededPayment(built.deps, { amount: 1000 })
  const refundId = await requestRefund(built, payment, 1000)
  await deliver('standard', standard('refund.succeeded', { refundId, paymentId: payment.id }))
  await worker(payment, refundId)
  t.equal((built.deps.provider as SandboxProvider).attemptsFor(refundId), 0)
  t.match(await deps.payments.get(payment.id), { status: 'refunded', amountRefunded: 1000, amountReserved: 0 })
  t.equal(counted('RefundSucceeded'), 1)
})

t.test('whichever outcome comes first wins: a late failure after a success, and a late success after a failure, change nothing', async (t) => {
  const built = await build(t)
  const { deps, deliver, counted } = harness(built)
  const payment = await storeSucceededPayment(built.deps, { amount: 1000 })
  const won = await requestRefund(built, payment, 100)
  const lost = await requestRefund(built, payment, 200)
  await deliver('standard', standard('refund.succeeded', { refundId: won, paymentId: payment.id }))
  await deliver('standard', standard('refund.failed', { refundId: won, paymentId: payment.id, reason: 'late' }))
  await deliver('standard', standard('refund.failed', { refundId: lost, paymentId: payment.id, reason: 'refund_declined' }))
  await deliver('standard', standard('refund.succeeded', { refundId: lost, paymentId: payment.id }))
  t.equal((await deps.refunds.get(won))?.status, 'succeeded')
  t.match(await deps.refunds.get(lost), { status: 'failed', failureReason: 'refund_declined' })
  t.match(await deps.payments.get(payment.id), { status: 'partially_refunded', amountRefunded: 100, amountReserved: 0, amountRefundable: 900 })
  t.same([counted('RefundSucceeded'), counted('RefundFailed')], [1, 1])
})

t.test('a duplicate delivery is applied once', async (t) => {
  const built = await build(t)
  const { deps, deliver } = harness(built)
  const payment = await storeSucceededPayment(built.deps, { amount: 1000 })
  const refundId = await requestRefund(built, payment, 300)
  await deliver('standard', standard('refund.succeeded', { refundId, paymentId: payment.id }), 'msg_same')
  await deliver('standard', standard('refund.succeeded', { refundId, paymentId: payment.id }), 'msg_same')
  t.match(await deps.payments.get(payment.id), { amountRefunded: 300, version: payment.version + 1 })
})

const stripeRefund = (status: string, overrides: Record<string, unknown> = {}) => ({
  id: 're_3MtwBwLkdIwHu7ix0Jk2dR6t',
  object: 'refund',
  amount: 250,
  currency: 'eur',
  payment_intent: 'pi_dashboard',
  status,
  failure_reason: null,
  metadata: {},
  ...overrides
})
const stripeEvent = (id: string, type: string, object: Record<string, unknown>) => ({ id, object: 'event', type, data: { object } })

t.test('Stripe: refund.updated ends paylith\'s refund named in its metadata; refund.failed fails it', async (t) => {
  const built = await build(t)
  const { deps, deliver } = harness(built)
  const payment = await storeSucceededPayment(built.deps, { amount: 1000 })
  const ok = await requestRefund(built, payment, 250)
  const ko = await requestRefund(built, payment, 300)
  await deliver('stripe', stripeEvent('evt_1', 'refund.updated', stripeRefund('pending', { metadata: { refundId: ok, paymentId: payment.id } })))
  t.equal((await deps.refunds.get(ok))?.status, 'pending', 'a pending refund is not ended')
  await deliver('stripe', stripeEvent('evt_2', 'refund.updated', stripeRefund('succeeded', { metadata: { refundId: ok, paymentId: payment.id } })))
  await deliver('stripe', stripeEvent('evt_3', 'refund.failed', stripeRefund('failed', { id: 're_other', amount: 300, failure_reason: 'expired_or_canceled_card', metadata: { refundId: ko, paymentId: payment.id } })))
  t.match(await deps.refunds.get(ok), { status: 'succeeded', providerRef: 're_3MtwBwLkdIwHu7ix0Jk2dR6t' })
  t.match(await deps.refunds.get(ko), { status: 'failed', failureReason: 'expired_or_canceled_card' })
  t.match(await deps.payments.get(payment.id), { status: 'partially_refunded', amountRefunded: 250, amountReserved: 0 })
})

t.test('Stripe: a refund made in the dashboard is recorded against its payment, once', async (t) => {
  const built = await build(t)
  const { deps, deliver, counted } = harness(built)
  const paid = await storeSucceededPayment(built.deps, { amount: 1000 })
  const intent = paid.providerRef as string
  await deliver('stripe', stripeEvent('evt_a', 'refund.created', stripeRefund('succeeded', { payment_intent: intent })))
  await deliver('stripe', stripeEvent('evt_b', 'refund.updated', stripeRefund('succeeded', { payment_intent: intent })))
  t.match(await deps.payments.get(paid.id), { status: 'partially_refunded', amountRefunded: 250 })
  const [recorded] = await deps.refunds.listByPayment(paid.id)
  t.match(recorded, { amount: 250, currency: 'EUR', status: 'succeeded', origin: 'provider', providerRef: 're_3MtwBwLkdIwHu7ix0Jk2dR6t' })
  t.equal(counted('RefundSucceeded'), 1, 'recorded once')

  const listed = await built.app.inject({ method: 'GET', url: `/v1/payments/${paid.id}/refunds`, headers: bearer() })
  t.equal(listed.json().data.length, 1, 'it shows with the payment\'s refunds')
  const rest = await requestRefund(built, (await deps.payments.get(paid.id)) as Payment, 750)
  t.match(rest, /^re_/, 'what is left can still be refunded through paylith')
})

t.test('Stripe: charge.refunded in full moves the payment to refunded with all of its amount refunded; a later refund event changes only its refund', async (t) => {
  const built = await build(t)
  const { deps, deliver, worker } = harness(built)
  const payment = await storeSucceededPayment(built.deps, { amount: 1000 })
  const refundId = await requestRefund(built, payment, 1000)
  await deliver('stripe', stripeEvent('evt_full', 'charge.refunded', { id: 'ch_1', object: 'charge', payment_intent: payment.providerRef, amount: 1000, amount_refunded: 1000, currency: 'eur', refunded: true, metadata: { paymentId: payment.id } }))
  t.match(await deps.payments.get(payment.id), { status: 'refunded', amountRefunded: 1000 })
  await worker(payment, refundId)
  t.match(await deps.payments.get(payment.id), { status: 'refunded', amountRefunded: 1000, amountReserved: 0 })
  t.equal((await deps.refunds.get(refundId))?.status, 'succeeded')
})

t.test('a refund event for no payment paylith knows throws, so it is retried', async (t) => {
  const built = await build(t)
  const { deliver } = harness(built)
  await t.rejects(deliver('standard', standard('refund.succeeded', { paymentId: built.deps.ids(), amount: 5 })), { name: 'UnknownPaymentError' })
})

t.test('a failed or amount-less refund event about a refund paylith does not know is only logged', async (t) => {
  const built = await build(t)
  const { deps, deliver } = harness(built)
  const payment = await storeSucceededPayment(built.deps, { amount: 1000 })
  await deliver('standard', standard('refund.failed', { paymentId: payment.id, refundId: 'their_1', amount: 5 }))
  await deliver('standard', standard('refund.succeeded', { paymentId: payment.id, refundId: 'their_2' }))
  t.same(await deps.refunds.listByPayment(payment.id), [])
  t.equal((await deps.payments.get(payment.id))?.status, 'succeeded')
})
