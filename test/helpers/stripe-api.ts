import { once } from 'node:events'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'

// Recorded request/response pairs in the shapes of Stripe's API reference
// (https://docs.stripe.com/api/payment_intents/object, https://docs.stripe.com/api/errors),
// trimmed to the fields the SDK and paylith read. Served by a Stripe-compatible API on loopback
// (as stripe-mock would be), so the official SDK makes real HTTP requests.

/** A PaymentIntent as Stripe answers it, in `status`. */
export function paymentIntent (status: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'pi_3MtwBwLkdIwHu7ix28a3tqPa',
    object: 'payment_intent',
    amount: 2000,
    amount_received: status === 'succeeded' ? 2000 : 0,
    automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
    cancellation_reason: null,
    capture_method: 'automatic',
    client_secret: 'pi_3MtwBwLkdIwHu7ix28a3tqPa_secret_YrKJUKribcBjcG8HVhfZluoGH',
    confirmation_method: 'automatic',
    created: 1680800504,
    currency: 'eur',
    customer: null,
    description: null,
    last_payment_error: null,
    latest_charge: status === 'succeeded' ? 'ch_3MtwBwLkdIwHu7ix28a3tqPa' : null,
    livemode: false,
    metadata: { paymentId: 'pay_01JDQ3V0J6Q8ZC7W8E5T0R2N4M', customerId: 'cus_1' },
    next_action: status === 'requires_action' ? { type: 'use_stripe_sdk', use_stripe_sdk: {} } : null,
    payment_method: status === 'requires_payment_method' ? null : 'pm_1MtwBwLkdIwHu7ixRWqHdXQk',
    payment_method_types: ['card'],
    status,
    ...overrides
  }
}

/** A Refund as Stripe answers it (https://docs.stripe.com/api/refunds/object), in `status`. */
export function stripeRefund (status: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 're_3MtwBwLkdIwHu7ix0Jk2dR6t',
    object: 'refund',
    amount: 1000,
    balance_transaction: status === 'succeeded' ? 'txn_1MtwBwLkdIwHu7ixJ4b4tPgs' : null,
    charge: 'ch_3MtwBwLkdIwHu7ix28a3tqPa',
    created: 1680800504,
    currency: 'eur',
    failure_reason: null,
    metadata: {},
    payment_intent: 'pi_3MtwBwLkdIwHu7ix28a3tqPa',
    reason: null,
    receipt_number: null,
    source_transfer_reversal: null,
    status,
    transfer_reversal: null,
    ...overrides
  }
}

/**
 * A page of a list endpoint as Stripe answers it (https://docs.stripe.com/api/pagination):
 * `GET /v1/refunds?payment_intent=…` is `{ object: "list", data, has_more, url }`.
 */
export function stripeList (url: string, data: unknown[], hasMore = false): Record<string, unknown> {
  return { object: 'list', data, has_more: hasMore, url }
}

/** Stripe's error body: `{ error: { type, code, message, ... } }`. */
export function stripeError (type: string, code: string | undefined, message: string, extra: Record<string, unknown> = {}): { error: Record<string, unknown> } {
  return { error: { type, ...(code !== undefined && { code }), message, ...extra } }
}

/** A card error as Stripe answers a declined confirm (402), naming the intent. */
export function cardError (code: string, intent: Record<string, unknown>): { status: number, body: unknown } {
  return {
    status: 402,
    body: stripeError('card_error', code, code === 'authentication_required'
      ? 'Your card was declined. This transaction requires authentication.'
      : 'Your card was declined.', { decline_code: code === 'card_declined' ? 'generic_decline' : code, payment_intent: intent, doc_url: `https://stripe.com/docs/error-codes/${code.replaceAll('_', '-')}` })
  }
}

/** One request the server saw. */
export interface SeenRequest {
  method: string
  path: string
  idempotencyKey: string | undefined
  authorization: string | undefined
  form: URLSearchParams
  /** Answered from the answer saved for its idempotency key, not from the script. */
  replayed: boolean
}

/** One scripted answer: for requests matching `method` and `path` (a prefix), in order. */
export interface ScriptedAnswer {
  method: string
  path: string
  status: number
  body: unknown
  /** Answer after this long (to provoke a client timeout). */
  delayMs?: number
}

/**
 * A Stripe-compatible API on loopback that answers each request with the next scripted answer
 * (which must match its method and path), and records what it saw. An unscripted request is a
 * 500 naming it, and shows in `unexpected`. Idempotency keys work as Stripe's do
 * (https://docs.stripe.com/api/idempotent_requests): the answer to a POST whose endpoint began
 * executing (2xx, a card error's 402, a 5xx) is saved for its key and replayed to every later
 * request with that key, 500s included, with `Idempotent-Replayed: true`; the same key with
 * other parameters is a 400 `idempotency_error`. A refused request (400, 401, 409) saves nothing.
 */
export async function scriptedStripe (t: { teardown: (fn: () => unknown) => void }, script: ScriptedAnswer[]): Promise<{ port: number, seen: SeenRequest[], unexpected: string[] }> {
  const seen: SeenRequest[] = []
  const unexpected: string[] = []
  const queue = [...script]
  const saved = new Map<string, { request: string, status: number, body: unknown }>()
  const server = createServer((request: IncomingMessage, response) => {
    let body = ''
    request.on('data', (chunk) => { body += String(chunk) })
    request.on('end', () => {
      const method = request.method ?? 'GET'
      const path = request.url ?? ''
      const idempotencyKey = request.headers['idempotency-key'] as string | undefined
      const earlier = method === 'POST' && idempotencyKey !== undefined ? saved.get(idempotencyKey) : undefined
      seen.push({ method, path, idempotencyKey, authorization: request.headers.authorization, form: new URLSearchParams(body), replayed: earlier !== undefined })
      let answer: Pick<ScriptedAnswer, 'status' | 'body' | 'delayMs'>
      if (earlier !== undefined) {
        answer = earlier.request === `${path} ${body}`
          ? earlier
          : { status: 400, body: stripeError('idempotency_error', undefined, `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idempotencyKey as string}' if you meant to execute a different request.`) }
      } else {
        const next = queue[0]
        const matched = next !== undefined && next.method === method && path.startsWith(next.path)
        if (!matched) unexpected.push(`${method} ${path}`)
        answer = matched
          ? queue.shift() as ScriptedAnswer
          : { status: 500, body: stripeError('api_error', undefined, `unscripted ${method} ${path}`) }
        const executed = answer.status < 300 || answer.status === 402 || answer.status >= 500
        if (method === 'POST' && idempotencyKey !== undefined && executed) saved.set(idempotencyKey, { request: `${path} ${body}`, status: answer.status, body: answer.body })
      }
      const send = () => {
        if (response.destroyed) return
        response.writeHead(answer.status, { 'content-type': 'application/json', 'request-id': 'req_test', ...(earlier !== undefined && { 'idempotent-replayed': 'true' }) })
        response.end(JSON.stringify(answer.body))
      }
      if (answer.delayMs === undefined) send()
      else setTimeout(send, answer.delayMs).unref()
    })
  }).listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve) }))
  return { port: (server.address() as AddressInfo).port, seen, unexpected }
}
