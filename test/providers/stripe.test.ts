import t from 'tap'
import { createStripeProvider } from '../../src/providers/stripe.js'
import type { ChargeRequest } from '../../src/providers/types.js'
import { cardError, paymentIntent, scriptedStripe, stripeError, type ScriptedAnswer } from '../helpers/stripe-api.js'

// The whole provider through the official SDK, against recorded request/response pairs
// (test/helpers/stripe-api.ts) served on loopback.

const PI = 'pi_3MtwBwLkdIwHu7ix28a3tqPa'
const paymentId = 'pay_01JDQ3V0J6Q8ZC7W8E5T0R2N4M'
const signal = new AbortController().signal

async function stripeWith (t: Parameters<typeof scriptedStripe>[0], script: ScriptedAnswer[], timeoutMs = 2_000) {
  const api = await scriptedStripe(t, script)
  const provider = createStripeProvider({ secretKey: async () => 'sk_test_fake', defaultPaymentMethod: 'pm_card_visa', timeoutMs, keyMaxAgeMs: 300_000, apiBase: { host: '127.0.0.1', port: api.port, protocol: 'http' } })
  return { provider, ...api }
}

function chargeRequest (overrides: Partial<ChargeRequest> = {}): ChargeRequest & { recorded: string[] } {
  const recorded: string[] = []
  return { paymentId, amount: 2000, currency: 'EUR', customerId: 'cus_1', idempotencyKey: paymentId, recordProviderRef: async (ref) => { recorded.push(ref) }, recorded, ...overrides }
}

const create = (status: string, overrides?: Record<string, unknown>): ScriptedAnswer => ({ method: 'POST', path: '/v1/payment_intents', status: 200, body: paymentIntent(status, overrides) })
const confirm = (status: number, body: unknown, delayMs?: number): ScriptedAnswer => ({ method: 'POST', path: `/v1/payment_intents/${PI}/confirm`, status, body, ...(delayMs !== undefined && { delayMs }) })
const retrieve = (status: string, overrides?: Record<string, unknown>): ScriptedAnswer => ({ method: 'GET', path: `/v1/payment_intents/${PI}`, status: 200, body: paymentIntent(status, overrides) })
const cancel = (): ScriptedAnswer => ({ method: 'POST', path: `/v1/payment_intents/${PI}/cancel`, status: 200, body: paymentIntent('canceled', { cancellation_reason: 'abandoned' }) })

t.test('succeeded: creates the intent unconfirmed (payment id as idempotency key), stores its id, then confirms it off-session by id', async (t) => {
  const { provider, seen, unexpected } = await stripeWith(t, [create('requires_confirmation'), confirm(200, paymentIntent('succeeded'))])
  const request = chargeRequest({ providerCustomer: 'cus_NffrFeUfNV2Hib', providerPaymentMethod: 'pm_1MtwBwLkdIwHu7ixRWqHdXQk' })
  t.same(await provider.charge(request, { signal }), { outcome: 'succeeded', providerRef: PI })
  t.same(unexpected, [])
  t.same(request.recorded, [PI], 'the intent id is stored before it is confirmed')
  const [created, confirmed] = seen
  t.equal(created?.idempotencyKey, paymentId)
  t.equal(created?.authorization, 'Bearer sk_test_fake')
  t.equal(created?.form.get('confirm'), null, 'not confirmed on creation')
  t.equal(created?.form.get('amount'), '2000')
  t.equal(created?.form.get('currency'), 'eur')
  t.equal(created?.form.get('customer'), 'cus_NffrFeUfNV2Hib')
  t.equal(created?.form.get('payment_method'), 'pm_1MtwBwLkdIwHu7ixRWqHdXQk')
  t.equal(created?.form.get('metadata[paymentId]'), paymentId)
  t.equal(confirmed?.form.get('off_session'), 'true', 'merchant-initiated')
  t.not(confirmed?.idempotencyKey, paymentId, 'the confirm does not reuse the create\'s key')
})

t.test('without a payment method of its own, the payment is confirmed with STRIPE_PAYMENT_METHOD and no customer', async (t) => {
  const { provider, seen } = await stripeWith(t, [create('requires_confirmation'), confirm(200, paymentIntent('succeeded'))])
  await provider.charge(chargeRequest(), { signal })
  t.equal(seen[0]?.form.get('payment_method'), 'pm_card_visa')
  t.equal(seen[0]?.form.get('customer'), null)
})

t.test('card_declined is a decline with Stripe\'s code and the intent', async (t) => {
  const { provider, unexpected } = await stripeWith(t, [create('requires_confirmation'), confirm(402, cardError('card_declined', paymentIntent('requires_payment_method')).body)])
  t.same(await provider.charge(chargeRequest(), { signal }), { outcome: 'declined', providerRef: PI, reason: 'card_declined' })
  t.same(unexpected, [])
})

t.test('authentication_required off-session: fails with that reason, and the intent is cancelled', async (t) => {
  const { provider, seen, unexpected } = await stripeWith(t, [
    create('requires_confirmation'),
    confirm(402, cardError('authentication_required', paymentIntent('requires_payment_method')).body),
    cancel()
  ])
  t.same(await provider.charge(chargeRequest(), { signal }), { outcome: 'declined', providerRef: PI, reason: 'authentication_required' })
  t.same(unexpected, [])
  t.equal(seen[2]?.form.get('cancellation_reason'), 'abandoned')
})

t.test('requires_action after an off-session confirm: the customer is not there, so it is cancelled as authentication_required', async (t) => {
  const { provider, unexpected } = await stripeWith(t, [create('requires_confirmation'), confirm(200, paymentIntent('requires_action')), cancel()])
  t.same(await provider.charge(chargeRequest(), { signal }), { outcome: 'declined', providerRef: PI, reason: 'authentication_required' })
  t.same(unexpected, [])
})

t.test('on-session (confirmation client): the intent is created, not confirmed, and its client secret handed back', async (t) => {
  const { provider, seen, unexpected } = await stripeWith(t, [create('requires_payment_method', { automatic_payment_methods: { enabled: true } })])
  const result = await provider.charge(chargeRequest({ confirmation: 'client' }), { signal })
  t.same(result, { outcome: 'requires_action', providerRef: PI, clientSecret: paymentIntent('requires_payment_method').client_secret })
  t.same(unexpected, [])
  t.equal(seen.length, 1)
  t.equal(seen[0]?.form.get('payment_method'), null, 'the browser picks the method')
  t.equal(seen[0]?.form.get('automatic_payment_methods[allow_redirects]'), null, 'redirects are allowed on-session')
})

t.test('processing (a bank debit) is not a success: the webhook will settle it', async (t) => {
  const { provider } = await stripeWith(t, [create('requires_confirmation'), confirm(200, paymentIntent('processing'))])
  t.same(await provider.charge(chargeRequest(), { signal }), { outcome: 'processing', providerRef: PI })
})

t.test('a 500 on confirm: the intent is looked up, and its real outcome used', async (t) => {
  const { provider, seen, unexpected } = await stripeWith(t, [
    create('requires_confirmation'),
    confirm(500, stripeError('api_error', undefined, 'An unknown error occurred')),
    retrieve('succeeded')
  ])
  t.same(await provider.charge(chargeRequest(), { signal }), { outcome: 'succeeded', providerRef: PI })
  t.same(unexpected, [])
  t.equal(seen.length, 3)
})

t.test('a 500 on confirm with the intent still unconfirmed is transient; the retry looks it up by the stored id and confirms it then, never creating another', async (t) => {
  const { provider, seen, unexpected } = await stripeWith(t, [
    create('requires_confirmation'),
    confirm(500, stripeError('api_error', undefined, 'An unknown error occurred')),
    retrieve('requires_confirmation'),
    retrieve('requires_confirmation'),
    confirm(200, paymentIntent('succeeded'))
  ])
  const first = chargeRequest()
  await t.rejects(provider.charge(first, { signal }), { name: 'TransientProviderError' })
  t.same(first.recorded, [PI])
  t.same(await provider.charge(chargeRequest({ providerRef: PI }), { signal }), { outcome: 'succeeded', providerRef: PI })
  t.same(unexpected, [])
  t.same(seen.map(({ method, path }) => `${method} ${path}`), [
    'POST /v1/payment_intents',
    `POST /v1/payment_intents/${PI}/confirm`,
    `GET /v1/payment_intents/${PI}`,
    `GET /v1/payment_intents/${PI}`,
    `POST /v1/payment_intents/${PI}/confirm`
  ])
})

t.test('a retry after a timeout reads the intent and does not confirm what already succeeded', async (t) => {
  const { provider, seen } = await stripeWith(t, [retrieve('succeeded')])
  t.same(await provider.charge(chargeRequest({ providerRef: PI }), { signal }), { outcome: 'succeeded', providerRef: PI })
  t.equal(seen.length, 1)
})

t.test('a retry finding an earlier decline reports it, without confirming again', async (t) => {
  const { provider, seen } = await stripeWith(t, [retrieve('requires_payment_method', { last_payment_error: { type: 'card_error', code: 'card_declined', message: 'Your card was declined.' } })])
  t.same(await provider.charge(chargeRequest({ providerRef: PI }), { signal }), { outcome: 'declined', providerRef: PI, reason: 'card_declined' })
  t.equal(seen.length, 1)
})

const createFails500: ScriptedAnswer = { method: 'POST', path: '/v1/payment_intents', status: 500, body: stripeError('api_error', undefined, 'An unknown error occurred') }

/** A request whose spent keys move on as the charge worker's do: the payment id, then `/1`, `/2`… */
function retiringRequest (overrides: Partial<ChargeRequest> = {}): ChargeRequest & { recorded: string[] } {
  let generation = 0
  const request = chargeRequest(overrides)
  request.retireIdempotencyKey = async () => {
    generation++
    request.idempotencyKey = `${paymentId}/${generation}`
    return request.idempotencyKey
  }
  return request
}

t.test('a 500 on create is transient (outage), and counts against the breaker', async (t) => {
  const { provider } = await stripeWith(t, [createFails500])
  await t.rejects(provider.charge(chargeRequest(), { signal }), { name: 'TransientProviderError' })
})

t.test('Stripe replays a 500 to its idempotency key: a retry with the same key can never succeed', async (t) => {
  const { provider, seen } = await stripeWith(t, [createFails500, create('requires_confirmation'), confirm(200, paymentIntent('succeeded'))])
  await t.rejects(provider.charge(chargeRequest(), { signal }), { name: 'TransientProviderError' })
  await t.rejects(provider.charge(chargeRequest(), { signal }), { name: 'TransientProviderError' }, 'the saved 500, not a new attempt')
  t.same(seen.map((request) => [request.idempotencyKey, request.replayed]), [[paymentId, false], [paymentId, true]])
})

t.test('a 500 on create spends the key: the next attempt creates with the next one, and only its intent is confirmed', async (t) => {
  const { provider, seen, unexpected } = await stripeWith(t, [createFails500, create('requires_confirmation'), confirm(200, paymentIntent('succeeded'))])
  const request = retiringRequest()
  await t.rejects(provider.charge(request, { signal }), { name: 'TransientProviderError' })
  t.equal(request.idempotencyKey, `${paymentId}/1`, 'the spent key was given up (and recorded) before the error went up')
  t.same(await provider.charge(request, { signal }), { outcome: 'succeeded', providerRef: PI })
  t.same(seen.map((r) => [r.method, r.path, r.idempotencyKey, r.replayed]).slice(0, 2), [
    ['POST', '/v1/payment_intents', paymentId, false],
    ['POST', '/v1/payment_intents', `${paymentId}/1`, false]
  ])
  t.equal(seen[1]?.form.get('metadata[paymentId]'), paymentId, 'the intent still names the payment')
  t.same(request.recorded, [PI])
  t.same(unexpected, [])
})

t.test('a timeout on create keeps the key: its retry gets the intent Stripe made, not a second one', async (t) => {
  const slowCreate = { ...create('requires_confirmation'), delayMs: 600 }
  const { provider, seen, unexpected } = await stripeWith(t, [slowCreate, confirm(200, paymentIntent('succeeded'))], 200)
  const request = retiringRequest()
  await t.rejects(provider.charge(request, { signal }), { name: 'TransientProviderError' })
  t.equal(request.idempotencyKey, paymentId, 'no answer was saved against the key, so it is not spent')
  t.same(await provider.charge(request, { signal }), { outcome: 'succeeded', providerRef: PI })
  const creates = seen.filter((r) => r.path === '/v1/payment_intents')
  t.same(creates.map((r) => [r.idempotencyKey, r.replayed]), [[paymentId, false], [paymentId, true]], 'the second create is Stripe\'s replay of the first')
  t.same(unexpected, [])
})

t.test('a 4xx Stripe saves nothing for (a refused parameter) does not spend the key', async (t) => {
  const { provider } = await stripeWith(t, [{ method: 'POST', path: '/v1/payment_intents', status: 400, body: stripeError('invalid_request_error', 'parameter_invalid_integer', 'Invalid integer', { param: 'amount' }) }])
  const request = retiringRequest()
  await t.rejects(provider.charge(request, { signal }), { name: 'ProviderConfigurationError' })
  t.equal(request.idempotencyKey, paymentId)
})

t.test('idempotency_error is a configuration error (a bug signal), not a transient error nor a decline', async (t) => {
  const { provider } = await stripeWith(t, [{
    method: 'POST',
    path: '/v1/payment_intents',
    status: 400,
    body: stripeError('idempotency_error', undefined, 'Keys for idempotent requests can only be used with the same parameters they were first used with.')
  }])
  await t.rejects(provider.charge(chargeRequest(), { signal }), { name: 'ProviderConfigurationError' })
})

t.test('a bad key (authentication error) is a configuration error', async (t) => {
  const { provider } = await stripeWith(t, [{ method: 'POST', path: '/v1/payment_intents', status: 401, body: stripeError('invalid_request_error', undefined, 'Invalid API Key provided: sk_test_****fake') }])
  await t.rejects(provider.charge(chargeRequest(), { signal }), { name: 'ProviderConfigurationError' })
})

t.test('an invalid request that is not a card error (a bad parameter) is a configuration error, not a decline', async (t) => {
  const { provider } = await stripeWith(t, [{ method: 'POST', path: '/v1/payment_intents', status: 400, body: stripeError('invalid_request_error', 'resource_missing', 'No such PaymentMethod: \'pm_gone\'', { param: 'payment_method' }) }])
  await t.rejects(provider.charge(chargeRequest(), { signal }), { name: 'ProviderConfigurationError' })
})

t.test('a conflict about this request (its idempotency key in use) is a provider request error, not an outage', async (t) => {
  const { provider } = await stripeWith(t, [{ method: 'POST', path: '/v1/payment_intents', status: 409, body: stripeError('invalid_request_error', 'idempotency_key_in_use', 'in use') }])
  await t.rejects(provider.charge(chargeRequest(), { signal }), { name: 'ProviderRequestError' })
})

t.test('an intent cancelled elsewhere is a decline with its cancellation reason', async (t) => {
  const { provider } = await stripeWith(t, [retrieve('canceled', { cancellation_reason: 'requested_by_customer' })])
  t.same(await provider.charge(chargeRequest({ providerRef: PI }), { signal }), { outcome: 'declined', providerRef: PI, reason: 'requested_by_customer' })
})

t.test('an already cancelled intent is not cancelled twice', async (t) => {
  const { provider } = await stripeWith(t, [
    retrieve('requires_action'),
    { method: 'POST', path: `/v1/payment_intents/${PI}/cancel`, status: 400, body: stripeError('invalid_request_error', 'payment_intent_unexpected_state', 'You cannot cancel this PaymentIntent because it has a status of canceled.') }
  ])
  t.same(await provider.charge(chargeRequest({ providerRef: PI }), { signal }), { outcome: 'declined', providerRef: PI, reason: 'authentication_required' })
})

t.test('ISK is sent in Stripe\'s two-decimal units: 5000 kr as 500000', async (t) => {
  const { provider, seen } = await stripeWith(t, [create('requires_confirmation'), confirm(200, paymentIntent('succeeded'))])
  await provider.charge(chargeRequest({ currency: 'ISK', amount: 5000 }), { signal })
  t.equal(seen[0]?.form.get('amount'), '500000')
  t.equal(seen[0]?.form.get('currency'), 'isk')
})

t.test('a three-decimal amount Stripe cannot charge is a configuration error, never sent', async (t) => {
  const { provider, seen } = await stripeWith(t, [])
  await t.rejects(provider.charge(chargeRequest({ currency: 'KWD', amount: 5124 }), { signal }), { name: 'ProviderConfigurationError' })
  t.equal(seen.length, 0)
})

async function keyed (t: Parameters<typeof scriptedStripe>[0], script: ScriptedAnswer[], keys: string[]) {
  const api = await scriptedStripe(t, script)
  let clock = 0
  const fetched: string[] = []
  const provider = createStripeProvider({
    secretKey: async () => { const key = keys[Math.min(fetched.length, keys.length - 1)] as string; fetched.push(key); return key },
    defaultPaymentMethod: 'pm_card_visa',
    timeoutMs: 2_000,
    keyMaxAgeMs: 60_000,
    now: () => clock,
    apiBase: { host: '127.0.0.1', port: api.port, protocol: 'http' }
  })
  return { provider, ...api, fetched, advance: (ms: number) => { clock += ms } }
}

const unauthorized: ScriptedAnswer = { method: 'POST', path: '/v1/payment_intents', status: 401, body: stripeError('invalid_request_error', undefined, 'Invalid API Key provided: sk_live_****old') }

t.test('the key is kept for its maximum age, then fetched again (a rotated key is picked up)', async (t) => {
  const { provider, seen, fetched, advance } = await keyed(t, [retrieve('succeeded'), retrieve('succeeded'), retrieve('succeeded')], ['sk_live_old', 'sk_live_new'])
  await provider.charge(chargeRequest({ providerRef: PI }), { signal })
  advance(59_999)
  await provider.charge(chargeRequest({ providerRef: PI }), { signal })
  t.equal(fetched.length, 1, 'within its age, not fetched again')
  advance(1)
  await provider.charge(chargeRequest({ providerRef: PI }), { signal })
  t.same(fetched, ['sk_live_old', 'sk_live_new'])
  t.same(seen.map((request) => request.authorization), ['Bearer sk_live_old', 'Bearer sk_live_old', 'Bearer sk_live_new'])
})

t.test('an authentication error fetches the key once more and, when it changed, charges with the new one', async (t) => {
  const { provider, seen, fetched } = await keyed(t, [unauthorized, create('requires_confirmation'), confirm(200, paymentIntent('succeeded'))], ['sk_live_old', 'sk_live_new'])
  t.same(await provider.charge(chargeRequest(), { signal }), { outcome: 'succeeded', providerRef: PI })
  t.same(fetched, ['sk_live_old', 'sk_live_new'])
  t.same(seen.map((request) => request.authorization), ['Bearer sk_live_old', 'Bearer sk_live_new', 'Bearer sk_live_new'])
})

t.test('an authentication error with the same key after refetching is a configuration error, tried once', async (t) => {
  const { provider, seen, fetched } = await keyed(t, [unauthorized], ['sk_live_old'])
  await t.rejects(provider.charge(chargeRequest(), { signal }), { name: 'ProviderConfigurationError' })
  t.equal(fetched.length, 2)
  t.equal(seen.length, 1)
})

t.test('a secret that holds no key yet (just deployed) fails clearly, and the key is picked up once set', async (t) => {
  const { provider, seen, fetched } = await keyed(t, [retrieve('succeeded')], ['unset', 'sk_live_set'])
  await t.rejects(provider.charge(chargeRequest({ providerRef: PI }), { signal }), { name: 'ProviderConfigurationError', message: /holds no Stripe key.*put-secret-value/ })
  t.equal(seen.length, 0, 'Stripe is not called with it')
  t.same(await provider.charge(chargeRequest({ providerRef: PI }), { signal }), { outcome: 'succeeded', providerRef: PI })
  t.same(fetched, ['unset', 'sk_live_set'], 'not cached')
})
