import t from 'tap'
import { createLocalContext } from '../../src/local/lambda-context.js'
import type { SandboxProvider } from '../../src/providers/sandbox.js'
import { createChargeHandler } from '../../src/workers/charge.js'
import { createLogger } from '../../src/observability/logger.js'
import { createMetrics } from '../../src/observability/metrics.js'
import { createResilientCharge } from '../../src/providers/resilient.js'
import { createStripeProvider } from '../../src/providers/stripe.js'
import { jsonLines } from '../helpers/lines.js'
import { paymentIntent, scriptedStripe, stripeError } from '../helpers/stripe-api.js'
import { build, withBreaker } from '../helpers/build.js'
import { storePayment } from '../helpers/payments.js'
import { sqsEvent, sqsRecord } from '../helpers/events.js'

const HOUR = 3_600_000
const PI = paymentIntent('succeeded').id as string

t.test('a payment processing for longer than the providers keep idempotency keys is not charged again', async (t) => {
  const now = new Date('2026-11-27T12:00:00.000Z')
  const { deps } = await build(t, { deps: { clock: () => now } })
  const payment = await storePayment(deps, { customerId: 'cus_old', createdAt: new Date(now.getTime() - 30 * HOUR) })
  await deps.payments.transition(payment, 'processing')
  const charge = createChargeHandler(withBreaker(deps))
  await t.rejects(charge({ type: 'charge', paymentId: payment.id }, sqsRecord('q', '{}'), createLocalContext('paylith-test', 30_000)), { name: 'StaleChargeError' })
  t.equal((await deps.payments.get(payment.id))?.status, 'processing', 'left for a person, through the dead-letter queue')
})

t.test('a payment awaiting the provider\'s webhook is acknowledged without another provider call', async (t) => {
  const { deps } = await build(t)
  const payment = await storePayment(deps, { customerId: 'cus_wait' })
  const processing = await deps.payments.transition(payment, 'processing')
  await deps.payments.markAwaitingProvider(processing, 'pi_wait')
  const charge = createChargeHandler(withBreaker(deps))
  await charge({ type: 'charge', paymentId: payment.id }, sqsRecord('q', '{}'), createLocalContext('paylith-test', 30_000))
  t.equal((deps.provider as SandboxProvider).attemptsFor(payment.id), 0, 'the (sandbox) provider was not called')
  t.equal((await deps.payments.get(payment.id))?.status, 'processing')
})

t.test('a provider outage fails the message for redelivery after exactly PROVIDER_MAX_ATTEMPTS calls, leaving the payment processing', async (t) => {
  const { deps, workers, config } = await build(t, { env: { PROVIDER_MAX_ATTEMPTS: '2', PROVIDER_BACKOFF_BASE_MS: '1', PROVIDER_BACKOFF_CAP_MS: '1' } })
  // The sandbox fails every call for an amount ending in 62 (a provider outage).
  const payment = await storePayment(deps, { customerId: 'cus_outage', amount: 1062 })
  const worker = workers.queues[config.queues.work.name]
  if (worker === undefined) throw new Error('no work-queue worker')
  const event = sqsEvent(config.queues.work.name, [JSON.stringify({ type: 'charge', paymentId: payment.id })])
  t.same(await worker(event, createLocalContext('paylith-test', 30_000)), { batchItemFailures: [{ itemIdentifier: event.Records[0]?.messageId }] })
  t.equal((deps.provider as SandboxProvider).attemptsFor(payment.id), 2)
  t.equal((await deps.payments.get(payment.id))?.status, 'processing')
})

t.test('an on-session payment moves to requires_action with its client secret, and the provider reference stored', async (t) => {
  const { deps } = await build(t)
  const payment = await storePayment(deps, { customerId: 'cus_onsession', input: { confirmation: 'client' } })
  const charge = createChargeHandler(withBreaker(deps))
  await charge({ type: 'charge', paymentId: payment.id }, sqsRecord('q', '{}'), createLocalContext('paylith-test', 30_000))
  const stored = await deps.payments.get(payment.id)
  t.equal(stored?.status, 'requires_action')
  t.equal(stored?.clientSecret, `sbx_${payment.id}_secret_sandbox`)
  t.equal(stored?.providerRef, `sbx_${payment.id}`)
  t.equal((await deps.payments.findByProviderRef(`sbx_${payment.id}`))?.id, payment.id, 'a webhook naming the intent finds the payment')
  await charge({ type: 'charge', paymentId: payment.id }, sqsRecord('q', '{}'), createLocalContext('paylith-test', 30_000))
  t.equal((deps.provider as SandboxProvider).attemptsFor(payment.id), 1, 'a redelivery leaves it to the customer and the webhook')
})

t.test('an off-session charge the issuer wants authenticated fails as authentication_required', async (t) => {
  const { deps } = await build(t)
  // The sandbox answers authentication_required for an amount ending in 81.
  const payment = await storePayment(deps, { customerId: 'cus_sca', amount: 1081 })
  await createChargeHandler(withBreaker(deps))({ type: 'charge', paymentId: payment.id }, sqsRecord('q', '{}'), createLocalContext('paylith-test', 30_000))
  const stored = await deps.payments.get(payment.id)
  t.equal(stored?.status, 'failed')
  t.equal(stored?.failureReason, 'authentication_required')
})

t.test('a provider configuration error (a bad Stripe key) alerts and leaves the payment processing and retryable', async (t) => {
  const { deps } = await build(t)
  const api = await scriptedStripe(t, [{ method: 'POST', path: '/v1/payment_intents', status: 401, body: stripeError('invalid_request_error', undefined, 'Invalid API Key provided: sk_test_****fake') }])
  const provider = createStripeProvider({ secretKey: async () => 'sk_test_fake', defaultPaymentMethod: undefined, timeoutMs: 2_000, keyMaxAgeMs: 300_000, apiBase: { host: '127.0.0.1', port: api.port, protocol: 'http' } })
  const { lines, sink } = jsonLines()
  const logger = createLogger({ logLevel: 'info' }, sink)
  const metrics = createMetrics({ destination: sink })
  const charge = createResilientCharge(provider, { timeoutMs: 2_000, maxAttempts: 3, backoffBaseMs: 1, backoffCapMs: 1, volumeThreshold: 5, errorThresholdPercentage: 50, resetTimeoutMs: 1_000 }, { logger, metrics })
  const payment = await storePayment(deps, { customerId: 'cus_badkey' })
  const handler = createChargeHandler({ ...deps, charge, logger, metrics })
  await t.rejects(handler({ type: 'charge', paymentId: payment.id }, sqsRecord('q', '{}'), createLocalContext('paylith-test', 30_000)), { name: 'ProviderConfigurationError' })
  metrics.flush()
  t.equal(api.seen.length, 1, 'not retried within the invocation: it would fail the same way')
  t.equal((await deps.payments.get(payment.id))?.status, 'processing', 'not a decline')
  t.ok(lines.some((line) => line.level === 50 && line.paymentId === payment.id), 'an error log line')
  t.ok(lines.some((line) => JSON.stringify(line).includes('"ProviderMisconfigured"')), 'a ProviderMisconfigured metric')
})

t.test('a create Stripe answered with a 500 is retried with the payment\'s next key (Stripe would replay the 500 to the same key for 24 hours)', async (t) => {
  const { deps } = await build(t)
  const api = await scriptedStripe(t, [
    { method: 'POST', path: '/v1/payment_intents', status: 500, body: stripeError('api_error', undefined, 'An unknown error occurred') },
    { method: 'POST', path: '/v1/payment_intents', status: 200, body: paymentIntent('requires_confirmation') },
    { method: 'POST', path: `/v1/payment_intents/${PI}/confirm`, status: 200, body: paymentIntent('succeeded') }
  ])
  const provider = createStripeProvider({ secretKey: async () => 'sk_test_fake', defaultPaymentMethod: 'pm_card_visa', timeoutMs: 2_000, keyMaxAgeMs: 300_000, apiBase: { host: '127.0.0.1', port: api.port, protocol: 'http' } })
  const charge = createResilientCharge(provider, { timeoutMs: 2_000, maxAttempts: 3, backoffBaseMs: 1, backoffCapMs: 1, volumeThreshold: 5, errorThresholdPercentage: 50, resetTimeoutMs: 1_000 }, deps)
  const payment = await storePayment(deps, { customerId: 'cus_replay' })
  await createChargeHandler({ ...deps, charge })({ type: 'charge', paymentId: payment.id }, sqsRecord('q', '{}'), createLocalContext('paylith-test', 30_000))
  t.same(api.seen.filter((r) => r.path === '/v1/payment_intents').map((r) => r.idempotencyKey), [payment.id, `${payment.id}/1`], 'the retry within the invocation used the next key')
  t.match(await deps.payments.get(payment.id), { status: 'succeeded', providerRef: PI, providerKeyGeneration: 1 })
  t.same(api.unexpected, [])
})
