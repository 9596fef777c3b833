import t from 'tap'
import { createLocalContext } from '../../src/local/lambda-context.js'
import type { Built } from '../helpers/build.js'
import type { Payment } from '../../src/domain/payment.js'
import type { SandboxProvider } from '../../src/providers/sandbox.js'
import { createRefundHandler } from '../../src/workers/refund.js'
import { createLogger } from '../../src/observability/logger.js'
import { createMetrics } from '../../src/observability/metrics.js'
import { CircuitOpenError } from '../../src/providers/resilient.js'
import { createResilientCharge } from '../../src/providers/resilient.js'
import { createStripeProvider } from '../../src/providers/stripe.js'
import { jsonLines } from '../helpers/lines.js'
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs'
import { createRefundSweeper } from '../../src/workers/sweeper.js'
import { scriptedStripe, stripeError, stripeList, stripeRefund, type ScriptedAnswer } from '../helpers/stripe-api.js'
import { build, bearer, withBreaker } from '../helpers/build.js'
import { storePayment, storeSucceededPayment } from '../helpers/payments.js'
import { sqsEvent, sqsRecord } from '../helpers/events.js'

const context = () => createLocalContext('paylith-test', 30_000)

async function requestRefund (built: Built, payment: Payment, amount?: number): Promise<string> {
  const response = await built.app.inject({ method: 'POST', url: `/v1/payments/${payment.id}/refunds`, headers: { ...bearer(), 'idempotency-key': `k-${Math.random()}` }, payload: amount === undefined ? {} : { amount } })
  if (response.statusCode !== 201) throw new Error(`refund answered ${response.statusCode}: ${response.body}`)
  return response.json().id
}

function withMetrics (built: Built) {
  const documents = jsonLines()
  const metrics = createMetrics({ destination: documents.sink })
  return { deps: { ...built.deps, metrics }, metrics, documents: documents.lines }
}

t.test('a sandbox refund succeeds: the refund ends succeeded, the payment partially_refunded then refunded', async (t) => {
  const built = await build(t)
  const { deps, metrics, documents } = withMetrics(built)
  const payment = await storeSucceededPayment(built.deps, { amount: 1000 })
  const handler = createRefundHandler(withBreaker(deps))

  const first = await requestRefund(built, payment, 300)
  await handler({ type: 'refund', paymentId: payment.id, refundId: first }, sqsRecord('q', '{}'), context())
  t.match(await built.deps.refunds.get(first), { status: 'succeeded', providerRef: `sbx_${first}` })
  t.match(await built.deps.payments.get(payment.id), { status: 'partially_refunded', amountRefunded: 300, amountReserved: 0 })

  const rest = await requestRefund(built, payment)
  await handler({ type: 'refund', paymentId: payment.id, refundId: rest }, sqsRecord('q', '{}'), context())
  t.match(await built.deps.payments.get(payment.id), { status: 'refunded', amountRefunded: 1000 })
  t.same((await built.deps.payments.history(payment.id))?.map((event) => event.status), ['pending', 'succeeded', 'partially_refunded', 'refunded'])
  metrics.flush()
  t.equal(documents.filter((document) => document.RefundSucceeded === 1).length, 2, 'one RefundSucceeded document per refund')
})

t.test('a redelivered refund command asks the provider nothing more and changes nothing', async (t) => {
  const built = await build(t)
  const { deps, metrics, documents } = withMetrics(built)
  const payment = await storeSucceededPayment(built.deps, { amount: 1000 })
  const refundId = await requestRefund(built, payment, 100)
  const handler = createRefundHandler(withBreaker(deps))
  for (let i = 0; i < 3; i++) await handler({ type: 'refund', paymentId: payment.id, refundId }, sqsRecord('q', '{}'), context())
  const sandbox = built.deps.provider as SandboxProvider
  t.equal(sandbox.attemptsFor(refundId), 1)
  t.equal(sandbox.refundsFor(refundId), 1, 'refunded once')
  t.match(await built.deps.payments.get(payment.id), { amountRefunded: 100, version: payment.version + 1 })
  metrics.flush()
  t.equal(documents.filter((document) => document.RefundSucceeded === 1).length, 1)
})

t.test('a sandbox refund whose amount ends in 51 fails as refund_declined and gives its amount back', async (t) => {
  const built = await build(t)
  const { deps, metrics, documents } = withMetrics(built)
  const payment = await storeSucceededPayment(built.deps, { amount: 1000 })
  const refundId = await requestRefund(built, payment, 151)
  await createRefundHandler(withBreaker(deps))({ type: 'refund', paymentId: payment.id, refundId }, sqsRecord('q', '{}'), context())
  t.match(await built.deps.refunds.get(refundId), { status: 'failed', failureReason: 'refund_declined' })
  t.match(await built.deps.payments.get(payment.id), { status: 'succeeded', amountReserved: 0, amountRefundable: 1000, version: payment.version })
  const read = await built.app.inject({ method: 'GET', url: `/v1/refunds/${refundId}`, headers: bearer() })
  t.match(read.json(), { status: 'failed', failureReason: 'refund_declined' })
  metrics.flush()
  t.equal(documents.filter((document) => document.RefundFailed === 1).length, 1)
})

t.test('a refund command for no refund throws, so SQS retries it and then dead-letters it', async (t) => {
  const built = await build(t)
  const payment = await storeSucceededPayment(built.deps)
  await t.rejects(createRefundHandler(withBreaker(built.deps))({ type: 'refund', paymentId: payment.id, refundId: built.deps.refundIds() }, sqsRecord('q', '{}'), context()), { name: 'UnknownPaymentError' })
})

t.test('a provider outage fails the message through the work-queue worker, and the refund stays pending', async (t) => {
  const built = await build(t, { env: { PROVIDER_MAX_ATTEMPTS: '2', PROVIDER_BACKOFF_BASE_MS: '1', PROVIDER_BACKOFF_CAP_MS: '1' } })
  const payment = await storeSucceededPayment(built.deps, { amount: 1000 })
  const refundId = await requestRefund(built, payment, 100)
  const sandbox = built.deps.provider as SandboxProvider
  sandbox.setDown(true)
  const worker = built.workers.queues[built.config.queues.work.name]
  if (worker === undefined) throw new Error('no work-queue worker')
  const event = sqsEvent(built.config.queues.work.name, [JSON.stringify({ type: 'refund', paymentId: payment.id, refundId })])
  t.same(await worker(event, context()), { batchItemFailures: [{ itemIdentifier: event.Records[0]?.messageId }] })
  t.equal(sandbox.attemptsFor(refundId), 2, 'retried as charges are')
  t.equal((await built.deps.refunds.get(refundId))?.status, 'pending')
  sandbox.setDown(false)
  t.same(await worker(event, context()), { batchItemFailures: [] }, 'the redelivery refunds')
  t.equal((await built.deps.refunds.get(refundId))?.status, 'succeeded')
})

t.test('charges and refunds share one breaker: failed charges open it, and a refund then waits, not tried', async (t) => {
  const built = await build(t, { env: { PROVIDER_MAX_ATTEMPTS: '1', BREAKER_VOLUME_THRESHOLD: '2', BREAKER_ERROR_PERCENTAGE: '50', BREAKER_RESET_TIMEOUT_MS: '60000' } })
  const sandbox = built.deps.provider as SandboxProvider
  const worker = built.workers.queues[built.config.queues.work.name]
  if (worker === undefined) throw new Error('no work-queue worker')
  const succeeded = await storeSucceededPayment(built.deps, { amount: 1000 })
  const refundId = await requestRefund(built, succeeded, 100)
  sandbox.setDown(true)
  const pending = [await storePayment(built.deps), await storePayment(built.deps)]
  const charges = sqsEvent(built.config.queues.work.name, pending.map((payment) => JSON.stringify({ type: 'charge', paymentId: payment.id })))
  t.equal((await worker(charges, context())).batchItemFailures.length, 2, 'both charges failed: the provider is down')

  const refund = sqsEvent(built.config.queues.work.name, [JSON.stringify({ type: 'refund', paymentId: succeeded.id, refundId })])
  t.same(await worker(refund, context()), { batchItemFailures: [] }, 'the refund is deferred (sent again for later), not failed')
  t.equal(sandbox.attemptsFor(refundId), 0, 'the open breaker, opened by charges, kept the refund from the provider')
  t.equal((await built.deps.refunds.get(refundId))?.status, 'pending')
})

t.test('while the breaker is open the refund is deferred, not tried', async (t) => {
  const built = await build(t)
  const payment = await storeSucceededPayment(built.deps, { amount: 1000 })
  const refundId = await requestRefund(built, payment, 100)
  const deferred: number[] = []
  // A stand-in provider call, the one mock here: an open breaker on demand, without an outage to stage first.
  const charge = Object.assign(async () => { throw new Error('not a charge') }, {
    refund: async () => { throw new CircuitOpenError() },
    retryAfterMs: () => 1_000,
    providerName: 'sandbox'
  })
  const { deps, metrics, documents } = withMetrics(built)
  const handler = createRefundHandler({ ...deps, charge, workQueue: { defer: async (_record, seconds) => { deferred.push(seconds); return 'resent' as const } } })
  await handler({ type: 'refund', paymentId: payment.id, refundId }, sqsRecord('q', '{}'), context())
  t.equal(deferred.length, 1, 'given back to the queue for later')
  metrics.flush()
  t.same(documents.filter((document) => document.RefundDeferred !== undefined || document.ChargeDeferred !== undefined).map((document) => [document.reason, document.RefundDeferred]), [['circuit-open', 1]], 'counted as a refund\'s deferral, not a charge\'s')
  t.equal((await built.deps.refunds.get(refundId))?.status, 'pending')
})

t.test('Stripe: the Refunds API on the PaymentIntent, with the refund id as Idempotency-Key and the amount in Stripe\'s units', async (t) => {
  const built = await build(t)
  const refundBody = (status: string, extra: Record<string, unknown> = {}) => ({ id: 're_3MtwBwLkdIwHu7ix0Jk2dR6t', object: 'refund', amount: 50000, currency: 'isk', payment_intent: 'pi_3MtwBwLkdIwHu7ix28a3tqPa', status, metadata: {}, ...extra })
  const api = await scriptedStripe(t, [
    { method: 'POST', path: '/v1/refunds', status: 200, body: refundBody('succeeded') },
    { method: 'POST', path: '/v1/refunds', status: 200, body: refundBody('pending') },
    { method: 'POST', path: '/v1/refunds', status: 200, body: refundBody('failed', { failure_reason: 'expired_or_canceled_card' }) },
    { method: 'POST', path: '/v1/refunds', status: 400, body: stripeError('invalid_request_error', 'charge_already_refunded', 'Charge ch_1 has already been refunded.') }
  ])
  const provider = createStripeProvider({ secretKey: async () => 'sk_test_refunds', defaultPaymentMethod: undefined, timeoutMs: 2_000, keyMaxAgeMs: 300_000, apiBase: { host: '127.0.0.1', port: api.port, protocol: 'http' } })
  const { lines, sink } = jsonLines()
  const logger = createLogger({ logLevel: 'info' }, sink)
  const metrics = createMetrics({ destination: sink })
  const charge = createResilientCharge(provider, { timeoutMs: 2_000, maxAttempts: 2, backoffBaseMs: 1, backoffCapMs: 1, volumeThreshold: 5, errorThresholdPercentage: 50, resetTimeoutMs: 1_000 }, { logger, metrics })
  const handler = createRefundHandler({ ...built.deps, charge, logger, metrics })
  const isk = await storeSucceededPayment(built.deps, { amount: 5000, currency: 'ISK' })
  // The charge recorded the provider's reference (here the sandbox's) as the payment's providerRef: the intent to refund.
  const ids = [await requestRefund(built, isk, 500), await requestRefund(built, isk, 600), await requestRefund(built, isk, 700), await requestRefund(built, isk, 800)]
  for (const refundId of ids) await handler({ type: 'refund', paymentId: isk.id, refundId }, sqsRecord('q', '{}'), context())

  t.same(api.unexpected, [])
  const [first] = api.seen
  t.equal(first?.idempotencyKey, ids[0], 'the refund id is Stripe\'s Idempotency-Key')
  t.equal(first?.form.get('payment_intent'), `sbx_${isk.id}`)
  t.equal(first?.form.get('amount'), '50000', '500 ISK is 50000 in Stripe\'s units')
  t.equal(first?.form.get('metadata[refundId]'), ids[0])
  t.equal(first?.form.get('metadata[paymentId]'), isk.id)
  t.match(await built.deps.refunds.get(ids[0] as string), { status: 'succeeded', providerRef: 're_3MtwBwLkdIwHu7ix0Jk2dR6t' })
  t.equal((await built.deps.refunds.get(ids[1] as string))?.status, 'pending', 'pending at Stripe: its webhook ends it')
  t.match(await built.deps.refunds.get(ids[2] as string), { status: 'failed', failureReason: 'expired_or_canceled_card' })
  t.match(await built.deps.refunds.get(ids[3] as string), { status: 'failed', failureReason: 'charge_already_refunded' })
  t.match(await built.deps.payments.get(isk.id), { status: 'partially_refunded', amountRefunded: 500, amountReserved: 600 })
  t.notOk(lines.some((line) => Number(line.level) >= 50), 'no error logged')
})

/** A refund handler whose provider is Stripe on the loopback API, through the resilient wrapper (two tries a call). */
async function stripeRefunds (t: Parameters<typeof scriptedStripe>[0], built: Built, script: ScriptedAnswer[]) {
  const api = await scriptedStripe(t, script)
  const provider = createStripeProvider({ secretKey: async () => 'sk_test_refunds', defaultPaymentMethod: undefined, timeoutMs: 2_000, keyMaxAgeMs: 300_000, apiBase: { host: '127.0.0.1', port: api.port, protocol: 'http' } })
  const { lines, sink } = jsonLines()
  const logger = createLogger({ logLevel: 'info' }, sink)
  const metrics = createMetrics({ destination: sink })
  const charge = createResilientCharge(provider, { timeoutMs: 2_000, maxAttempts: 2, backoffBaseMs: 1, backoffCapMs: 1, volumeThreshold: 5, errorThresholdPercentage: 50, resetTimeoutMs: 1_000 }, { logger, metrics })
  return { ...api, lines, handler: createRefundHandler({ ...built.deps, charge, logger, metrics }) }
}

const stripeRefundBody = (status: string, refundId: string, paymentId: string, extra: Record<string, unknown> = {}) => stripeRefund(status, { metadata: { refundId, paymentId }, ...extra })

t.test('Stripe: a refund accepted as pending keeps Stripe\'s refund id, and the sweeper\'s re-send reads it back and ends it (its webhook lost)', async (t) => {
  let now = new Date('2026-11-27T12:00:00.000Z')
  const built = await build(t, { deps: { clock: () => now } })
  const payment = await storeSucceededPayment(built.deps, { amount: 5000 })
  const refundId = await requestRefund(built, payment, 1000)
  const { handler, seen, unexpected } = await stripeRefunds(t, built, [
    { method: 'POST', path: '/v1/refunds', status: 200, body: stripeRefundBody('pending', refundId, payment.id) },
    { method: 'GET', path: '/v1/refunds/re_3MtwBwLkdIwHu7ix0Jk2dR6t', status: 200, body: stripeRefundBody('succeeded', refundId, payment.id) }
  ])

  await handler({ type: 'refund', paymentId: payment.id, refundId }, sqsRecord('q', '{}'), context())
  t.match(await built.deps.refunds.get(refundId), { status: 'pending', providerRef: 're_3MtwBwLkdIwHu7ix0Jk2dR6t' }, 'accepted: Stripe\'s refund id recorded, still pending')

  now = new Date(now.getTime() + 3_600_000)
  const sweep = createRefundSweeper(built.deps, { staleAfterMs: 900_000, maxPerRun: 10, maxResends: 5 })
  t.same(await sweep({ version: '0', id: 'e', 'detail-type': 'Scheduled Event', source: 'aws.events', account: '1', time: '', region: 'us-east-1', resources: [], detail: {} }, context()), { resent: 1, gaveUp: 0, needAttention: 0 })
  const { Messages = [] } = await (await built.deps.sqs()).send(new ReceiveMessageCommand({ QueueUrl: built.config.queues.work.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }))
  t.same(Messages.map((message) => JSON.parse(message.Body ?? '{}')), [{ type: 'refund', paymentId: payment.id, refundId }])
  await handler(JSON.parse(Messages[0]?.Body ?? '{}'), sqsRecord('q', '{}'), context())

  t.match(await built.deps.refunds.get(refundId), { status: 'succeeded', providerRef: 're_3MtwBwLkdIwHu7ix0Jk2dR6t' })
  t.match(await built.deps.payments.get(payment.id), { status: 'partially_refunded', amountRefunded: 1000, amountReserved: 0 })
  t.same(seen.map((r) => r.method), ['POST', 'GET'], 'read back, not created again')
  t.same(unexpected, [])
})

t.test('Stripe: a refund create answered 500 with no refund made spends the key (a generation on the refund) and refunds with re_…/1 in the same invocation', async (t) => {
  const built = await build(t)
  const payment = await storeSucceededPayment(built.deps, { amount: 5000 })
  const refundId = await requestRefund(built, payment, 1000)
  const { handler, seen, unexpected, lines } = await stripeRefunds(t, built, [
    { method: 'POST', path: '/v1/refunds', status: 500, body: stripeError('api_error', undefined, 'An unknown error occurred') },
    { method: 'GET', path: '/v1/refunds?', status: 200, body: stripeList('/v1/refunds', []) },
    { method: 'POST', path: '/v1/refunds', status: 200, body: stripeRefundBody('succeeded', refundId, payment.id) }
  ])

  await handler({ type: 'refund', paymentId: payment.id, refundId }, sqsRecord('q', '{}'), context())
  t.match(await built.deps.refunds.get(refundId), { status: 'succeeded', providerKeyGeneration: 1, providerRef: 're_3MtwBwLkdIwHu7ix0Jk2dR6t' })
  t.same(seen.filter((r) => r.method === 'POST').map((r) => r.idempotencyKey), [refundId, `${refundId}/1`])
  t.same(unexpected, [])
  t.notOk(lines.some((line) => Number(line.level) >= 50), 'no error logged')
  const read = await built.app.inject({ method: 'GET', url: `/v1/refunds/${refundId}`, headers: bearer() })
  t.notOk('providerKeyGeneration' in read.json(), 'never shown by the API')
})

t.test('Stripe: a refund create answered 500 that Stripe did make is adopted: no second create, no key spent', async (t) => {
  const built = await build(t)
  const payment = await storeSucceededPayment(built.deps, { amount: 5000 })
  const refundId = await requestRefund(built, payment, 1000)
  const { handler, seen, unexpected } = await stripeRefunds(t, built, [
    { method: 'POST', path: '/v1/refunds', status: 500, body: stripeError('api_error', undefined, 'An unknown error occurred') },
    { method: 'GET', path: '/v1/refunds?', status: 200, body: stripeList('/v1/refunds', [stripeRefundBody('succeeded', refundId, payment.id)]) }
  ])

  await handler({ type: 'refund', paymentId: payment.id, refundId }, sqsRecord('q', '{}'), context())
  const stored = await built.deps.refunds.get(refundId)
  t.match(stored, { status: 'succeeded', providerRef: 're_3MtwBwLkdIwHu7ix0Jk2dR6t' })
  t.equal(stored?.providerKeyGeneration, undefined)
  t.equal(seen.filter((r) => r.method === 'POST').length, 1)
  t.same(unexpected, [])
})

t.test('a sandbox refund named by its reference is read from the sandbox\'s own record, not made again', async (t) => {
  const built = await build(t)
  const payment = await storeSucceededPayment(built.deps, { amount: 1000 })
  const refundId = await requestRefund(built, payment, 100)
  const sandbox = built.deps.provider as SandboxProvider
  const request = { refundId, paymentId: payment.id, amount: 100, currency: 'EUR', idempotencyKey: refundId }
  const made = await sandbox.refund(request, { signal: new AbortController().signal })
  t.same(await sandbox.refund({ ...request, idempotencyKey: `${refundId}/1`, refundRef: made.providerRef }, { signal: new AbortController().signal }), made)
  t.equal(sandbox.refundsFor(refundId), 1)
})

t.test('a refund never accepted and older than the providers\' idempotency window is not asked for again (it could refund twice): the message fails toward a dead letter', async (t) => {
  let now = new Date('2026-11-27T12:00:00.000Z')
  const built = await build(t, { deps: { clock: () => now } })
  const payment = await storeSucceededPayment(built.deps, { amount: 1000 })
  const refundId = await requestRefund(built, payment, 100)
  now = new Date(now.getTime() + 24 * 3_600_000)
  await t.rejects(createRefundHandler(withBreaker(built.deps))({ type: 'refund', paymentId: payment.id, refundId }, sqsRecord('q', '{}'), context()), { name: 'StaleRefundError' })
  t.equal((built.deps.provider as SandboxProvider).attemptsFor(refundId), 0, 'the provider was not called')
  t.equal((await built.deps.refunds.get(refundId))?.status, 'pending')
})
