import { once } from 'node:events'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { createStripeProvider } from '../../src/providers/stripe.js'

// A Stripe-compatible API on loopback (as stripe-mock would be), so the official SDK makes
// real HTTP requests and we see exactly what it sends.
interface Seen { path: string, idempotencyKey: string | undefined, authorization: string | undefined, form: URLSearchParams }

async function fakeStripe (t: { teardown: (fn: () => unknown) => void }, answer: (form: URLSearchParams) => { status: number, body: unknown }) {
  const seen: Seen[] = []
  const server = createServer((request: IncomingMessage, response) => {
    let body = ''
    request.on('data', (chunk) => { body += String(chunk) })
    request.on('end', () => {
      const form = new URLSearchParams(body)
      seen.push({ path: request.url ?? '', idempotencyKey: request.headers['idempotency-key'] as string | undefined, authorization: request.headers.authorization, form })
      const { status, body: payload } = answer(form)
      response.writeHead(status, { 'content-type': 'application/json', 'request-id': 'req_test' })
      response.end(JSON.stringify(payload))
    })
  }).listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  const { port } = server.address() as AddressInfo
  const provider = createStripeProvider({ secretKey: async () => 'sk_test_fake', defaultPaymentMethod: 'pm_card_visa', timeoutMs: 2_000, apiBase: { host: '127.0.0.1', port, protocol: 'http' } })
  return { provider, seen }
}

const request = { paymentId: 'pay_01JDQ3V0J6Q8ZC7W8E5T0R2N4M', amount: 1999, currency: 'EUR', customerId: 'cus_1', idempotencyKey: 'pay_01JDQ3V0J6Q8ZC7W8E5T0R2N4M' }
const signal = new AbortController().signal

t.test('creates and confirms a PaymentIntent with the payment id as idempotency key and metadata', async (t) => {
  const { provider, seen } = await fakeStripe(t, () => ({ status: 200, body: { id: 'pi_123', object: 'payment_intent', status: 'succeeded' } }))
  t.same(await provider.charge(request, { signal }), { outcome: 'succeeded', providerRef: 'pi_123' })
  t.equal(seen.length, 1)
  const [call] = seen
  t.equal(call?.path, '/v1/payment_intents')
  t.equal(call?.idempotencyKey, request.paymentId)
  t.equal(call?.authorization, 'Bearer sk_test_fake')
  t.equal(call?.form.get('amount'), '1999')
  t.equal(call?.form.get('currency'), 'eur')
  t.equal(call?.form.get('confirm'), 'true')
  t.equal(call?.form.get('payment_method'), 'pm_card_visa')
  t.equal(call?.form.get('metadata[paymentId]'), request.paymentId)
})

t.test('a card error is a decline with Stripe\'s code', async (t) => {
  const { provider } = await fakeStripe(t, () => ({
    status: 402,
    body: { error: { type: 'card_error', code: 'card_declined', message: 'Your card was declined.', payment_intent: { id: 'pi_declined', object: 'payment_intent' } } }
  }))
  t.same(await provider.charge(request, { signal }), { outcome: 'declined', providerRef: 'pi_declined', reason: 'card_declined' })
})

t.test('a server error is transient', async (t) => {
  const { provider } = await fakeStripe(t, () => ({ status: 500, body: { error: { type: 'api_error', message: 'boom' } } }))
  await t.rejects(provider.charge(request, { signal }), { name: 'TransientProviderError' })
})

t.test('an intent still processing (a bank debit) is not a success: the webhook will settle it', async (t) => {
  const { provider } = await fakeStripe(t, () => ({ status: 200, body: { id: 'pi_sepa', object: 'payment_intent', status: 'processing' } }))
  t.same(await provider.charge(request, { signal }), { outcome: 'processing', providerRef: 'pi_sepa' })
})

t.test('a conflict about this request (its idempotency key in use) is a provider request error, not an outage', async (t) => {
  const { provider } = await fakeStripe(t, () => ({ status: 409, body: { error: { type: 'invalid_request_error', code: 'idempotency_key_in_use', message: 'in use' } } }))
  await t.rejects(provider.charge(request, { signal }), { name: 'ProviderRequestError' })
})
