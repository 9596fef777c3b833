import t from 'tap'
import { createStripeProvider } from '../../src/providers/stripe.js'
import type { RefundRequest } from '../../src/providers/types.js'
import { scriptedStripe, stripeError, stripeList, stripeRefund, type ScriptedAnswer } from '../helpers/stripe-api.js'

// Stripe refunds through the official SDK, against the Stripe-compatible loopback API
// (test/helpers/stripe-api.ts), which keeps Stripe's idempotency rules (a 5xx saved per key and
// replayed with Idempotent-Replayed: true).

const PI = 'pi_3MtwBwLkdIwHu7ix28a3tqPa'
const RE = 're_3MtwBwLkdIwHu7ix0Jk2dR6t'
const refundId = 're_01JDQ3V0J6Q8ZC7W8E5T0R2N4M'
const paymentId = 'pay_01JDQ3V0J6Q8ZC7W8E5T0R2N4M'
const signal = new AbortController().signal

async function stripeWith (t: Parameters<typeof scriptedStripe>[0], script: ScriptedAnswer[]) {
  const api = await scriptedStripe(t, script)
  const provider = createStripeProvider({ secretKey: async () => 'sk_test_fake', defaultPaymentMethod: undefined, timeoutMs: 2_000, keyMaxAgeMs: 300_000, apiBase: { host: '127.0.0.1', port: api.port, protocol: 'http' } })
  return { provider, ...api }
}

/** A refund request whose spent keys are counted as the refund item would (re_…/1, /2). */
function refundRequest (overrides: Partial<RefundRequest> = {}): RefundRequest & { retired: number } {
  const request: RefundRequest & { retired: number } = {
    refundId,
    paymentId,
    amount: 1000,
    currency: 'EUR',
    providerRef: PI,
    idempotencyKey: refundId,
    retired: 0,
    retireIdempotencyKey: async () => {
      request.retired += 1
      request.idempotencyKey = `${refundId}/${request.retired}`
      return request.idempotencyKey
    },
    ...overrides
  }
  return request
}

const create = (status: number, body: unknown): ScriptedAnswer => ({ method: 'POST', path: '/v1/refunds', status, body })
const createFails500 = create(500, stripeError('api_error', undefined, 'An unknown error occurred'))
const list = (data: unknown[]): ScriptedAnswer => ({ method: 'GET', path: '/v1/refunds?', status: 200, body: stripeList('/v1/refunds', data) })
const ours = { metadata: { refundId, paymentId } }

t.test('a refund accepted as pending before is read back by its id (refunds.retrieve), never created again', async (t) => {
  const { provider, seen, unexpected } = await stripeWith(t, [
    { method: 'GET', path: `/v1/refunds/${RE}`, status: 200, body: stripeRefund('pending', ours) },
    { method: 'GET', path: `/v1/refunds/${RE}`, status: 200, body: stripeRefund('succeeded', ours) },
    { method: 'GET', path: `/v1/refunds/${RE}`, status: 200, body: stripeRefund('failed', { ...ours, failure_reason: 'lost_or_stolen_card' }) }
  ])
  const request = refundRequest({ refundRef: RE })
  t.same(await provider.refund(request, { signal }), { outcome: 'pending', providerRef: RE }, 'still pending')
  t.same(await provider.refund(request, { signal }), { outcome: 'succeeded', providerRef: RE })
  t.same(await provider.refund(request, { signal }), { outcome: 'failed', providerRef: RE, reason: 'lost_or_stolen_card' })
  t.same(seen.map((r) => r.method), ['GET', 'GET', 'GET'], 'no create')
  t.same(unexpected, [])
})

t.test('Stripe replays a refund create\'s 500 to its idempotency key: with the same key a retry can never succeed', async (t) => {
  const { provider, seen } = await stripeWith(t, [createFails500, list([]), list([])])
  const request = refundRequest({ retireIdempotencyKey: undefined })
  await t.rejects(provider.refund(request, { signal }), { name: 'TransientProviderError' })
  await t.rejects(provider.refund(request, { signal }), { name: 'TransientProviderError' }, 'the saved 500, not a new attempt')
  t.same(seen.filter((r) => r.method === 'POST').map((r) => [r.idempotencyKey, r.replayed]), [[refundId, false], [refundId, true]])
})

t.test('a 500 on create when Stripe made no refund for it spends the key: the retry creates with re_…/1, still naming the refund', async (t) => {
  const { provider, seen, unexpected } = await stripeWith(t, [
    createFails500,
    list([stripeRefund('succeeded', { id: 're_someone_else', metadata: { refundId: 're_01JDQ3V0J6Q8ZC7W8E5T0R2N4N' } })]),
    create(200, stripeRefund('succeeded', ours))
  ])
  const request = refundRequest()
  await t.rejects(provider.refund(request, { signal }), { name: 'TransientProviderError' })
  t.equal(request.idempotencyKey, `${refundId}/1`, 'the spent key was given up (and recorded) before the error went up')
  t.same(await provider.refund(request, { signal }), { outcome: 'succeeded', providerRef: RE })
  t.same(seen.map((r) => [r.method, r.path.split('?')[0], r.idempotencyKey ?? null, r.replayed]), [
    ['POST', '/v1/refunds', refundId, false],
    ['GET', '/v1/refunds', null, false],
    ['POST', '/v1/refunds', `${refundId}/1`, false]
  ])
  t.equal(seen[1]?.path, `/v1/refunds?payment_intent=${PI}&limit=100`, 'the refunds of the payment\'s intent, from the list endpoint')
  t.equal(seen[2]?.form.get('metadata[refundId]'), refundId, 'the new create still names the refund')
  t.same(unexpected, [])
})

t.test('a 500 on create whose refund Stripe did make adopts it: the key is kept and nothing is created again', async (t) => {
  const { provider, seen, unexpected } = await stripeWith(t, [createFails500, list([stripeRefund('pending', ours)])])
  const request = refundRequest()
  t.same(await provider.refund(request, { signal }), { outcome: 'pending', providerRef: RE }, 'the refund Stripe made, as it is')
  t.equal(request.retired, 0, 'no key spent')
  t.equal(seen.filter((r) => r.method === 'POST').length, 1, 'one create in all')
  t.same(unexpected, [])
})

t.test('a refund made for this refund id is found on a later page of the list', async (t) => {
  const other = (n: number) => stripeRefund('succeeded', { id: `re_other_${n}`, metadata: { refundId: `re_other_${n}` } })
  const { provider, seen, unexpected } = await stripeWith(t, [
    createFails500,
    { method: 'GET', path: '/v1/refunds?', status: 200, body: stripeList('/v1/refunds', [other(1), other(2)], true) },
    list([stripeRefund('succeeded', ours)])
  ])
  t.same(await provider.refund(refundRequest(), { signal }), { outcome: 'succeeded', providerRef: RE })
  t.match(seen[2]?.path, /starting_after=re_other_2/, 'the next page after the last one read')
  t.same(unexpected, [])
})

t.test('when the list itself fails after a 500, the key is kept: the next attempt looks again', async (t) => {
  const { provider, unexpected } = await stripeWith(t, [createFails500, { method: 'GET', path: '/v1/refunds?', status: 503, body: stripeError('api_error', undefined, 'Service unavailable') }])
  const request = refundRequest()
  await t.rejects(provider.refund(request, { signal }), { name: 'TransientProviderError' })
  t.equal(request.idempotencyKey, refundId)
  t.same(unexpected, [])
})

t.test('a refund Stripe refuses (a 4xx it saves nothing for) keeps the key and looks for nothing', async (t) => {
  const { provider, seen } = await stripeWith(t, [create(400, stripeError('invalid_request_error', 'parameter_invalid_integer', 'Invalid integer', { param: 'amount' }))])
  const request = refundRequest()
  await t.rejects(provider.refund(request, { signal }), { name: 'ProviderConfigurationError' })
  t.equal(request.idempotencyKey, refundId)
  t.equal(seen.length, 1)
})
