import { once } from 'node:events'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { verifyStandardWebhook } from '../../../src/domain/webhooks/signatures/standard-webhooks.js'
import { Route, errorType, pickKind, runWorkload, webhookPayloadFor } from '../../../scripts/load/workload.js'

const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`

t.test('a kind is picked by its share of the mix; kinds with no weight never are', async (t) => {
  const mix = { creates: 60, reads: 20, lists: 0, webhooks: 20 }
  t.equal(pickKind(mix, 0), 'creates')
  t.equal(pickKind(mix, 0.59), 'creates')
  t.equal(pickKind(mix, 0.6), 'reads')
  t.equal(pickKind(mix, 0.79), 'reads')
  t.equal(pickKind(mix, 0.8), 'webhooks')
  t.equal(pickKind(mix, 0.999999), 'webhooks')
})

t.test('a workload webhook tells what the sandbox decides for the amount, and none for amounts it never settles quickly', async (t) => {
  t.same(webhookPayloadFor({ id: 'pay_1', amount: 1200 }), { type: 'payment.succeeded', data: { paymentId: 'pay_1', providerRef: 'sbx_pay_1' } })
  t.same(webhookPayloadFor({ id: 'pay_1', amount: 1261 }), { type: 'payment.succeeded', data: { paymentId: 'pay_1', providerRef: 'sbx_pay_1' } })
  t.same(webhookPayloadFor({ id: 'pay_1', amount: 1251 }), { type: 'payment.failed', data: { paymentId: 'pay_1', providerRef: 'sbx_pay_1', reason: 'card_declined' } })
  t.equal(webhookPayloadFor({ id: 'pay_1', amount: 1262 }), undefined)
  t.equal(webhookPayloadFor({ id: 'pay_1', amount: 1271 }), undefined)
})

t.test('a request with no answer is recorded by its network code, a timeout or an abort by name', async (t) => {
  t.equal(errorType(new TypeError('fetch failed', { cause: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }) })), 'ECONNREFUSED')
  t.equal(errorType(new DOMException('timed out', 'TimeoutError')), 'timeout')
  t.equal(errorType(new DOMException('aborted', 'AbortError')), 'aborted')
  t.equal(errorType({}), 'network')
})

/** A stand-in for the app: creates answer 201 (the same payment for a known key), one key is "in flight", the rest 200. */
async function fakeApp (t: { teardown: (fn: () => void) => void }): Promise<{ url: string, seen: Array<{ method: string, url: string, headers: IncomingMessage['headers'], body: string }> }> {
  const seen: Array<{ method: string, url: string, headers: IncomingMessage['headers'], body: string }> = []
  const byKey = new Map<string, string>()
  const server = createServer((request, response) => {
    let body = ''
    request.setEncoding('utf8').on('data', (chunk: string) => { body += chunk }).on('end', () => {
      seen.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body })
      if (request.method === 'POST' && request.url === '/v1/payments') {
        const key = String(request.headers['idempotency-key'])
        const id = byKey.get(key) ?? `pay_${byKey.size + 1}`
        byKey.set(key, id)
        response.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id, status: 'pending' }))
        return
      }
      if (request.url?.startsWith('/v1/payments?') === true) {
        response.writeHead(400, { 'content-type': 'application/problem+json' }).end(JSON.stringify({ type: 'https://paylith.dev/problems/invalid-cursor', status: 400 }))
        return
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => { server.close() })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen }
}

t.test('the workload sends each kind as the app expects it and records every request', async (t) => {
  const { url, seen } = await fakeApp(t)
  const progress: number[] = []
  const result = await runWorkload({
    url,
    apiKey: 'plk_test',
    webhookSecret: SECRET,
    rate: 50,
    durationMs: 2_100,
    mix: { creates: 40, reads: 20, lists: 20, webhooks: 20 },
    unhealthyShare: 0.5,
    unhealthyEndings: [51],
    repeatShare: 0.2,
    customers: 3,
    maxInFlight: 1_000,
    requestTimeoutMs: 30_000,
    onProgress: (p) => { progress.push(p.sent) }
  })
  t.equal(result.records.length, result.started, 'one record per request started')
  t.equal(seen.length, result.started, 'and the app saw each once')
  t.equal(result.scheduled, 105, '50/s for 2.1 s, whatever the machine\'s speed')
  t.equal(result.started + result.shed, result.scheduled)
  t.ok(progress.length >= 2, 'progress was reported about once a second, and at the end')
  t.equal(progress.at(-1), result.started)

  const routes = new Set(result.records.map((record) => record.route))
  t.same([...routes].sort(), Object.values(Route).sort(), 'every kind was sent')

  const creates = seen.filter((request) => request.method === 'POST' && request.url === '/v1/payments')
  for (const create of creates) {
    t.equal(create.headers.authorization, 'Bearer plk_test')
    t.match(create.headers['idempotency-key'], /^load-/)
    const body = JSON.parse(create.body) as { amount: number, currency: string, customerId: string }
    t.ok([0, 51].includes(body.amount % 100), `amount ${body.amount} ends 00 or 51`)
    t.match(body.customerId, /^cus_load_[0-2]$/)
  }
  const keys = creates.map((create) => String(create.headers['idempotency-key']))
  t.ok(new Set(keys).size < keys.length, 'some creates repeated an earlier key')
  t.equal(result.payments.size, new Set(keys).size, 'one payment per key')
  for (const record of result.records.filter((r) => r.route === Route.create)) t.equal(record.paymentId, [...result.payments.values()].find((p) => p.idempotencyKey === record.idempotencyKey)?.id)

  for (const webhook of seen.filter((request) => request.url === '/v1/webhooks/standard')) {
    const { headers } = webhook
    t.doesNotThrow(() => verifyStandardWebhook({ id: String(headers['webhook-id']), timestamp: String(headers['webhook-timestamp']), signature: String(headers['webhook-signature']), rawBody: Buffer.from(webhook.body), secrets: [SECRET], now: new Date(), toleranceSeconds: 300 }))
    const { data } = JSON.parse(webhook.body) as { data: { paymentId: string } }
    t.ok(result.payments.has(data.paymentId), 'about a payment the workload created')
  }
  const list = result.records.find((record) => record.route === Route.list)
  t.match(list, { status: 400, error: 'invalid-cursor' }, 'an error answer is recorded with its problem type')
  const read = result.records.find((record) => record.route === Route.read)
  t.match(read, { status: 200, error: undefined })
  t.ok(result.payments.has(read?.paymentId ?? ''), 'reads are of created payments')
})

t.test('requests that get no answer are recorded with status 0 and their code', async (t) => {
  // A port that was free a moment ago: nothing listens there.
  const probe = createServer().listen(0, '127.0.0.1')
  await once(probe, 'listening')
  const { port } = probe.address() as AddressInfo
  await new Promise((resolve) => probe.close(resolve))
  const result = await runWorkload({
    url: `http://127.0.0.1:${port}`,
    apiKey: 'plk_test',
    webhookSecret: undefined,
    rate: 20,
    durationMs: 200,
    mix: { creates: 1, reads: 1, lists: 1, webhooks: 1 },
    unhealthyShare: 0,
    unhealthyEndings: [51],
    repeatShare: 0,
    customers: 1,
    maxInFlight: 10,
    requestTimeoutMs: 1_000
  })
  t.ok(result.records.length >= 3)
  for (const record of result.records) t.match(record, { route: Route.create, status: 0, error: 'ECONNREFUSED' }, 'with nothing created, every kind falls back to a create')
})

t.test('with webhookAllowed, webhooks are sent only for the payments it allows', async (t) => {
  const { url, seen } = await fakeApp(t)
  const allowed = new Set<string>()
  const result = await runWorkload({
    url,
    apiKey: 'plk_test',
    webhookSecret: SECRET,
    rate: 50,
    durationMs: 2_000,
    mix: { creates: 50, reads: 0, lists: 0, webhooks: 50 },
    unhealthyShare: 0,
    unhealthyEndings: [51],
    repeatShare: 0,
    customers: 3,
    maxInFlight: 1_000,
    requestTimeoutMs: 30_000,
    // Every other payment created, as a ledger would have charged some and not others.
    webhookAllowed: (payment) => {
      if (allowed.size === 0 || payment.id.endsWith('1')) allowed.add(payment.id)
      return allowed.has(payment.id)
    }
  })
  const webhooks = seen.filter((request) => request.url === '/v1/webhooks/standard')
  t.ok(webhooks.length > 0, `${webhooks.length} webhooks sent`)
  for (const webhook of webhooks) t.ok(allowed.has((JSON.parse(webhook.body) as { data: { paymentId: string } }).data.paymentId), 'about an allowed payment')
  t.ok(result.payments.size > allowed.size, 'not every payment was allowed')
})
