import t from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { build, bearer, type Built } from '../helpers/build.js'
import { httpApiEvent, restApiEvent } from '../helpers/events.js'
import { createLocalContext } from '../../src/local/lambda-context.js'
import { assertProblem } from '../helpers/problems.js'

const context = () => createLocalContext('paylith-payments-test', 30_000)

const body = (overrides: Record<string, unknown> = {}) => ({ amount: 1999, currency: 'EUR', customerId: 'cus_42', ...overrides })

async function create (built: Built, payload: unknown, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return built.app.inject({
    method: 'POST',
    url: '/v1/payments',
    headers: { ...bearer('all'), 'idempotency-key': `key-${Math.random()}`, ...headers },
    payload: payload as Record<string, unknown>
  })
}

t.test('POST /v1/payments creates a pending payment', async (t) => {
  const built = await build(t)
  const response = await create(built, body({ description: 'Order 1001', metadata: { orderId: '1001' } }))
  t.equal(response.statusCode, 201)
  const payment = response.json()
  t.match(payment, {
    id: /^pay_[0-9A-HJKMNP-TV-Z]{26}$/,
    status: 'pending',
    amount: 1999,
    currency: 'EUR',
    customerId: 'cus_42',
    description: 'Order 1001',
    metadata: { orderId: '1001' },
    createdAt: /^\d{4}-\d\d-\d\dT/,
    updatedAt: /^\d{4}-\d\d-\d\dT/
  })
  t.same(Object.keys(payment).sort(), ['amount', 'amountRefunded', 'createdAt', 'currency', 'customerId', 'description', 'id', 'metadata', 'status', 'updatedAt'], 'no internal fields leak')
  t.equal(payment.amountRefunded, 0)
  t.equal(response.headers['idempotent-replayed'], undefined)
})

t.test('metadata keys that are Object.prototype names are stored and read back, never a 500', async (t) => {
  const built = await build(t)
  const metadata = { constructor: 'c', toString: 't', valueOf: 'v' }
  const response = await create(built, body({ metadata }))
  t.equal(response.statusCode, 201, response.body)
  const read = await built.app.inject({ method: 'GET', url: `/v1/payments/${response.json().id as string}`, headers: bearer() })
  t.same(read.json().metadata, metadata)
})

t.test('authentication', async (t) => {
  const built = await build(t)

  t.test('no Authorization header is 401 with WWW-Authenticate: Bearer', async (t) => {
    const response = await built.app.inject({ method: 'GET', url: '/v1/payments/pay_01JDQ3V0J6Q8ZC7W8E5T0R2N4M' })
    assertProblem(t, response, 401, 'unauthorized')
    t.equal(response.headers['www-authenticate'], 'Bearer')
  })

  t.test('an unknown key is 401', async (t) => {
    const response = await built.app.inject({ method: 'GET', url: '/v1/payments?customerId=c', headers: { authorization: 'Bearer plk_not_a_key' } })
    assertProblem(t, response, 401, 'unauthorized')
  })

  t.test('a malformed Authorization header is 401', async (t) => {
    const response = await built.app.inject({ method: 'GET', url: '/v1/payments?customerId=c', headers: { authorization: 'Basic dXNlcjpwYXNz' } })
    assertProblem(t, response, 401, 'unauthorized')
  })

  t.test('a Bearer header with anything after the key is 401', async (t) => {
    const response = await built.app.inject({ method: 'GET', url: '/v1/payments?customerId=c', headers: { authorization: `${bearer('all').authorization} extra` } })
    assertProblem(t, response, 401, 'unauthorized')
  })

  t.test('a known key without the scope is 403', async (t) => {
    const write = await create(built, body(), bearer('read'))
    assertProblem(t, write, 403, 'forbidden')
    const read = await built.app.inject({ method: 'GET', url: '/v1/payments?customerId=c', headers: bearer('write') })
    assertProblem(t, read, 403, 'forbidden')
    const admin = await create(built, body(), bearer('admin'))
    assertProblem(t, admin, 403, 'forbidden')
  })

  t.test('authentication comes before validation', async (t) => {
    const response = await built.app.inject({ method: 'POST', url: '/v1/payments', payload: { nonsense: true } })
    assertProblem(t, response, 401, 'unauthorized')
  })

  t.test('health, readiness and docs need no key', async (t) => {
    for (const url of ['/health', '/ready', '/openapi.json', '/docs']) {
      const response = await built.app.inject({ method: 'GET', url })
      t.equal(response.statusCode, 200, url)
    }
  })
})

t.test('validation lists every failing field', async (t) => {
  const built = await build(t)

  t.test('bad values everywhere', async (t) => {
    const response = await create(built, {
      amount: 0,
      currency: 'eur',
      customerId: 'has spaces',
      description: 'x'.repeat(501),
      metadata: { ok: 'yes', [`k${'x'.repeat(40)}`]: 'long key' },
      surprise: true
    })
    const problem = assertProblem(t, response, 400, 'validation')
    const names = (problem.invalidParams as Array<{ name: string }>).map((p) => p.name)
    for (const name of ['body/amount', 'body/currency', 'body/customerId', 'body/description', 'body/surprise']) {
      t.ok(names.includes(name), `${name} is listed`)
    }
    t.ok(names.some((name) => name.startsWith('body/metadata')), 'the metadata key is listed')
  })

  t.test('an amount must be an integer number of minor units, not a string or a fraction', async (t) => {
    for (const amount of ['100', 10.5, 100_000_000, -1, null]) {
      const problem = assertProblem(t, await create(built, body({ amount })), 400, 'validation')
      t.same((problem.invalidParams as Array<{ name: string }>).map((p) => p.name), ['body/amount'], `amount ${JSON.stringify(amount)}`)
    }
  })

  t.test('a currency must be a real ISO 4217 code', async (t) => {
    for (const currency of ['ABC', 'EURO', 'US']) {
      const problem = assertProblem(t, await create(built, body({ currency })), 400, 'validation')
      t.match(problem.invalidParams, [{ name: 'body/currency' }], currency)
    }
    t.equal((await create(built, body({ currency: 'JPY' }))).statusCode, 201)
  })

  t.test('metadata: at most 20 string values', async (t) => {
    const many = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, 'v']))
    assertProblem(t, await create(built, body({ metadata: many })), 400, 'validation')
    assertProblem(t, await create(built, body({ metadata: { n: 1 } })), 400, 'validation')
    assertProblem(t, await create(built, body({ metadata: { v: 'x'.repeat(501) } })), 400, 'validation')
  })

  t.test('missing fields are named', async (t) => {
    const problem = assertProblem(t, await create(built, {}), 400, 'validation')
    t.same((problem.invalidParams as Array<{ name: string }>).map((p) => p.name).sort(), ['body/amount', 'body/currency', 'body/customerId'])
  })

  t.test('a body that is not JSON is 400, and a non-JSON content type 415', async (t) => {
    const malformed = await built.app.inject({ method: 'POST', url: '/v1/payments', headers: { ...bearer(), 'idempotency-key': 'k', 'content-type': 'application/json' }, payload: '{"amount":' })
    assertProblem(t, malformed, 400, 'malformed-request')
    const text = await built.app.inject({ method: 'POST', url: '/v1/payments', headers: { ...bearer(), 'idempotency-key': 'k', 'content-type': 'text/plain' }, payload: 'amount=1' })
    assertProblem(t, text, 415, 'unsupported-media-type')
  })
})

t.test('Idempotency-Key', async (t) => {
  const built = await build(t)

  t.test('missing is 400', async (t) => {
    const response = await built.app.inject({ method: 'POST', url: '/v1/payments', headers: bearer(), payload: body() })
    assertProblem(t, response, 400, 'idempotency-key-missing')
  })

  t.test('empty or longer than 255 is 400', async (t) => {
    assertProblem(t, await create(built, body(), { 'idempotency-key': '' }), 400, 'idempotency-key-invalid')
    assertProblem(t, await create(built, body(), { 'idempotency-key': '""' }), 400, 'idempotency-key-invalid')
    assertProblem(t, await create(built, body(), { 'idempotency-key': 'k'.repeat(256) }), 400, 'idempotency-key-invalid')
    t.equal((await create(built, body(), { 'idempotency-key': 'k'.repeat(255) })).statusCode, 201)
  })

  t.test('the same key and body replays the original answer', async (t) => {
    const first = await create(built, body({ customerId: 'cus_replay' }), { 'idempotency-key': 'order-1' })
    const again = await create(built, body({ customerId: 'cus_replay' }), { 'idempotency-key': 'order-1' })
    t.equal(first.statusCode, 201)
    t.equal(again.statusCode, 201)
    t.equal(again.headers['idempotent-replayed'], 'true')
    t.same(again.json(), first.json())
  })

  t.test('a replay answers the very bytes of the original answer, and its content type', async (t) => {
    // The original is the JSON text the key stores, sent as it is; the replay goes through the response schema's serializer.
    const payload = body({ customerId: 'cus_bytes', description: 'Order "1001" — ünïcode', metadata: { b: '2', a: '1', constructor: 'c' }, confirmation: 'automatic', providerCustomer: 'cus_Bytes1', providerPaymentMethod: 'pm_Bytes_1' })
    const first = await create(built, payload, { 'idempotency-key': 'order-bytes' })
    const again = await create(built, payload, { 'idempotency-key': 'order-bytes' })
    t.equal(first.statusCode, 201)
    t.equal(again.headers['idempotent-replayed'], 'true')
    t.equal(again.body, first.body)
    t.equal(first.headers['content-type'], 'application/json; charset=utf-8')
    t.equal(again.headers['content-type'], first.headers['content-type'])
    t.equal(first.headers['content-length'], String(Buffer.byteLength(first.body)))
  })

  t.test('the quoted form is the same key as the bare form', async (t) => {
    const bare = await create(built, body(), { 'idempotency-key': 'quoted-1' })
    const quoted = await create(built, body(), { 'idempotency-key': '"quoted-1"' })
    t.equal(quoted.headers['idempotent-replayed'], 'true')
    t.equal(quoted.json().id, bare.json().id)
  })

  t.test('the fingerprint ignores key order in the body', async (t) => {
    const first = await create(built, { amount: 5, currency: 'EUR', customerId: 'c1' }, { 'idempotency-key': 'order-2' })
    const again = await create(built, { customerId: 'c1', currency: 'EUR', amount: 5 }, { 'idempotency-key': 'order-2' })
    t.equal(again.headers['idempotent-replayed'], 'true')
    t.equal(again.json().id, first.json().id)
  })

  t.test('the same key with another body is 422 and creates nothing', async (t) => {
    await create(built, body({ customerId: 'cus_reuse' }), { 'idempotency-key': 'order-3' })
    const reused = await create(built, body({ customerId: 'cus_reuse', amount: 2000 }), { 'idempotency-key': 'order-3' })
    assertProblem(t, reused, 422, 'idempotency-key-reused')
    const list = await built.app.inject({ method: 'GET', url: '/v1/payments?customerId=cus_reuse', headers: bearer() })
    t.equal(list.json().data.length, 1)
  })

  t.test('the same key with only another description is 422: the fingerprint covers it', async (t) => {
    await create(built, body({ customerId: 'cus_fp_desc', description: 'Order 1' }), { 'idempotency-key': 'order-desc' })
    assertProblem(t, await create(built, body({ customerId: 'cus_fp_desc', description: 'Order 2' }), { 'idempotency-key': 'order-desc' }), 422, 'idempotency-key-reused')
    assertProblem(t, await create(built, body({ customerId: 'cus_fp_desc' }), { 'idempotency-key': 'order-desc' }), 422, 'idempotency-key-reused')
  })

  t.test('the same key with only other metadata is 422: the fingerprint covers it', async (t) => {
    await create(built, body({ customerId: 'cus_fp_meta', metadata: { orderId: '1' } }), { 'idempotency-key': 'order-meta' })
    assertProblem(t, await create(built, body({ customerId: 'cus_fp_meta', metadata: { orderId: '2' } }), { 'idempotency-key': 'order-meta' }), 422, 'idempotency-key-reused')
    assertProblem(t, await create(built, body({ customerId: 'cus_fp_meta' }), { 'idempotency-key': 'order-meta' }), 422, 'idempotency-key-reused')
  })

  t.test('keys are scoped to the API key: two clients may use the same key', async (t) => {
    const mine = await create(built, body({ customerId: 'cus_scope' }), { ...bearer('all'), 'idempotency-key': 'shared' })
    const theirs = await create(built, body({ customerId: 'cus_scope' }), { ...bearer('write'), 'idempotency-key': 'shared' })
    t.equal(theirs.statusCode, 201)
    t.equal(theirs.headers['idempotent-replayed'], undefined)
    t.not(theirs.json().id, mine.json().id)
  })

  t.test('two Idempotency-Key headers are 400 and create nothing, however they arrive', async (t) => {
    const request = { ...bearer('all'), 'content-type': 'application/json' }
    const payload = JSON.stringify(body({ customerId: 'cus_two_keys' }))
    // Node joins repeated headers into "a, b"; the raw headers still show two.
    const direct = await built.app.inject({ method: 'POST', url: '/v1/payments', headers: { ...request, 'idempotency-key': ['two-a', 'two-b'] }, payload })
    t.match(assertProblem(t, direct, 400, 'idempotency-key-invalid'), { detail: /2 Idempotency-Key headers/ })
    // API Gateway REST (payload 1.0) keeps each value in multiValueHeaders.
    const rest = await built.handler(restApiEvent({ method: 'POST', path: '/v1/payments', headers: { ...request, 'idempotency-key': 'two-b' }, multiValueHeaders: { 'idempotency-key': ['two-a', 'two-b'] }, body: payload }), context()) as { statusCode: number, body: string }
    t.equal(rest.statusCode, 400)
    t.match(JSON.parse(rest.body), { type: 'https://paylith.dev/problems/idempotency-key-invalid', detail: /2 Idempotency-Key headers/ })
    // An HTTP API (payload 2.0) joins them with a comma: a bare key never holds one.
    const http = await built.handler(httpApiEvent({ method: 'POST', path: '/v1/payments', headers: { ...request, 'idempotency-key': 'two-a,two-b' }, body: payload }), context()) as { statusCode: number, body: string }
    t.equal(http.statusCode, 400)
    t.match(JSON.parse(http.body), { type: 'https://paylith.dev/problems/idempotency-key-invalid', detail: /several keys/ })
    const listed = await built.app.inject({ method: 'GET', url: '/v1/payments?customerId=cus_two_keys', headers: bearer('all') })
    t.same(listed.json().data, [])
  })

  t.test('a quoted key may hold a comma', async (t) => {
    t.equal((await create(built, body(), { 'idempotency-key': '"order,1"' })).statusCode, 201)
  })
})

t.test('an expired key is free again: the code checks expiry, not only DynamoDB TTL', async (t) => {
  let now = new Date('2026-11-27T10:00:00.000Z')
  const built = await build(t, { env: { IDEMPOTENCY_TTL_SECONDS: '3600' }, deps: { clock: () => now } })
  const first = await create(built, body(), { 'idempotency-key': 'expiring' })
  now = new Date('2026-11-27T10:59:59.000Z')
  const replay = await create(built, body(), { 'idempotency-key': 'expiring' })
  t.equal(replay.headers['idempotent-replayed'], 'true', 'replayed within the hour')
  now = new Date('2026-11-27T11:00:01.000Z')
  const fresh = await create(built, body(), { 'idempotency-key': 'expiring' })
  t.equal(fresh.statusCode, 201)
  t.equal(fresh.headers['idempotent-replayed'], undefined, 'a new request after expiry')
  t.not(fresh.json().id, first.json().id)
})

t.test('a key is free again from the very second it expires', async (t) => {
  let now = new Date('2026-11-27T10:00:00.000Z')
  const built = await build(t, { env: { IDEMPOTENCY_TTL_SECONDS: '3600' }, deps: { clock: () => now } })
  const first = await create(built, body(), { 'idempotency-key': 'expiring-exactly' })
  now = new Date('2026-11-27T10:59:59.999Z')
  t.equal((await create(built, body(), { 'idempotency-key': 'expiring-exactly' })).headers['idempotent-replayed'], 'true', 'replayed until the last millisecond')
  now = new Date('2026-11-27T11:00:00.000Z')
  const fresh = await create(built, body(), { 'idempotency-key': 'expiring-exactly' })
  t.equal(fresh.statusCode, 201)
  t.equal(fresh.headers['idempotent-replayed'], undefined)
  t.not(fresh.json().id, first.json().id)
})

t.test('GET /v1/payments/{id}', async (t) => {
  const built = await build(t)
  const created = (await create(built, body())).json()

  t.test('answers the payment', async (t) => {
    const response = await built.app.inject({ method: 'GET', url: `/v1/payments/${created.id}`, headers: bearer('read') })
    t.equal(response.statusCode, 200)
    t.same(response.json(), created)
  })

  t.test('an unknown id is 404 problem+json', async (t) => {
    const response = await built.app.inject({ method: 'GET', url: '/v1/payments/pay_01JDQ3V0J6Q8ZC7W8E5T0R2N4M', headers: bearer('read') })
    const problem = assertProblem(t, response, 404, 'not-found')
    t.equal(problem.detail, 'payment pay_01JDQ3V0J6Q8ZC7W8E5T0R2N4M does not exist')
  })

  t.test('a malformed id is 400', async (t) => {
    const problem = assertProblem(t, await built.app.inject({ method: 'GET', url: '/v1/payments/nope', headers: bearer('read') }), 400, 'validation')
    t.match(problem.invalidParams, [{ name: 'params/id' }])
  })
})

t.test('a failed payment says why: failureReason is the provider\'s decline code', async (t) => {
  const built = await build(t)
  const created = (await create(built, body({ customerId: 'cus_declined' }))).json()
  t.notOk('failureReason' in created, 'not while pending')
  const stored = await built.deps.payments.get(created.id)
  if (stored === undefined) throw new Error('payment was not stored')
  await built.deps.payments.transition(await built.deps.payments.transition(stored, 'processing'), 'failed', { reason: 'card_declined' })

  const read = (await built.app.inject({ method: 'GET', url: `/v1/payments/${created.id}`, headers: bearer('read') })).json()
  t.match(read, { status: 'failed', failureReason: 'card_declined' })
  const listed = (await built.app.inject({ method: 'GET', url: '/v1/payments?customerId=cus_declined', headers: bearer('read') })).json()
  t.match(listed.data, [{ id: created.id, failureReason: 'card_declined' }], 'and in the listing')
})

t.test('a payment that needs a person says why (attention) until its next status change', async (t) => {
  const built = await build(t)
  const created = (await create(built, body())).json()
  const read = async () => (await built.app.inject({ method: 'GET', url: `/v1/payments/${created.id}`, headers: bearer('read') })).json()
  const attention = { reason: 'dead-lettered', since: '2026-11-27T12:00:00.000Z', deadLetterId: 'message-1' } as const
  t.equal(await built.deps.payments.flagAttention({ id: created.id, version: 1 }, attention), true)

  const flagged = await read()
  t.same(flagged.attention, attention)
  t.equal(flagged.status, 'pending')
  const stored = await built.deps.payments.get(created.id)
  t.equal(stored?.version, 1, 'attention is not a status change: the version stays')

  await built.deps.payments.transition(stored as NonNullable<typeof stored>, 'processing')
  const moved = await read()
  t.equal(moved.status, 'processing')
  t.notOk('attention' in moved, 'cleared when it moved again')
})

t.test('GET /v1/payments lists a customer\'s payments newest first, page by page', async (t) => {
  const built = await build(t)
  const ids: string[] = []
  for (let i = 0; i < 5; i++) ids.push((await create(built, body({ customerId: 'cus_list', amount: 100 + i }))).json().id)
  await create(built, body({ customerId: 'cus_other' }))
  const list = (query: string) => built.app.inject({ method: 'GET', url: `/v1/payments?${query}`, headers: bearer('read') })

  const seen: string[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const response = await list(`customerId=cus_list&limit=2${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`)
    t.equal(response.statusCode, 200)
    const page = response.json()
    seen.push(...page.data.map((p: { id: string }) => p.id))
    cursor = page.nextCursor
    pages += 1
  } while (cursor !== null && pages < 10)
  t.same(seen, [...ids].reverse(), 'every payment once, newest first, none of another customer')
  t.ok(pages >= 3, 'paginated by 2')

  t.test('a tampered cursor is 400', async (t) => {
    const { nextCursor } = (await list('customerId=cus_list&limit=2')).json()
    const tampered = `${nextCursor.slice(0, 5)}${nextCursor[5] === 'A' ? 'B' : 'A'}${nextCursor.slice(6)}`
    assertProblem(t, await list(`customerId=cus_list&cursor=${encodeURIComponent(tampered)}`), 400, 'invalid-cursor')
    assertProblem(t, await list('customerId=cus_list&cursor=garbage'), 400, 'invalid-cursor')
    assertProblem(t, await list(`customerId=cus_other&cursor=${encodeURIComponent(nextCursor)}`), 400, 'invalid-cursor')
  })

  t.test('limit and customerId are validated', async (t) => {
    assertProblem(t, await list('customerId=cus_list&limit=0'), 400, 'validation')
    assertProblem(t, await list('customerId=cus_list&limit=101'), 400, 'validation')
    assertProblem(t, await list('customerId=not%20an%20id'), 400, 'validation')
  })
})

t.test('GET /v1/payments without a limit answers 20 payments and a cursor to the rest', async (t) => {
  const built = await build(t)
  const created = await Promise.all(Array.from({ length: 21 }, async (_, i) => (await create(built, body({ customerId: 'cus_default_limit', amount: 100 + i }))).json().id as string))
  const list = (query: string) => built.app.inject({ method: 'GET', url: `/v1/payments?${query}`, headers: bearer('read') })

  const first = (await list('customerId=cus_default_limit')).json()
  t.equal(first.data.length, 20, 'the first page holds exactly 20')
  t.type(first.nextCursor, 'string', 'and says there is more')
  const second = (await list(`customerId=cus_default_limit&cursor=${encodeURIComponent(first.nextCursor)}`)).json()
  t.equal(second.data.length, 1)
  t.equal(second.nextCursor, null)
  t.same([...first.data, ...second.data].map((p: { id: string }) => p.id).sort(), [...created].sort(), 'every payment once across the two pages')
})

t.test('GET /v1/payments/{id}/events is the status history, oldest first', async (t) => {
  const built = await build(t)
  const created = (await create(built, body())).json()
  const payment = await built.deps.payments.get(created.id)
  if (payment === undefined) throw new Error('payment was not stored')
  await built.deps.payments.transition(payment, 'processing')

  const response = await built.app.inject({ method: 'GET', url: `/v1/payments/${created.id}/events`, headers: bearer('read') })
  t.equal(response.statusCode, 200)
  t.match(response.json().data, [
    { status: 'pending', previousStatus: null, version: 1, at: created.createdAt },
    { status: 'processing', previousStatus: 'pending', version: 2 }
  ])
  t.equal(response.json().data.length, 2)

  const missing = await built.app.inject({ method: 'GET', url: '/v1/payments/pay_01JDQ3V0J6Q8ZC7W8E5T0R2N4M/events', headers: bearer('read') })
  assertProblem(t, missing, 404, 'not-found')
})

t.test('an on-session payment (confirmation client) shows requires_action and its client secret once the intent exists, and not after', async (t) => {
  const built = await build(t)
  const created = await create(built, body({ customerId: 'cus_onsession', confirmation: 'client', providerCustomer: 'cus_NffrFeUfNV2Hib' }))
  t.equal(created.statusCode, 201)
  t.match(created.json(), { status: 'pending', confirmation: 'client', providerCustomer: 'cus_NffrFeUfNV2Hib' })
  t.notOk('clientSecret' in created.json())
  const stored = await built.deps.payments.get(created.json().id)
  if (stored === undefined) throw new Error('payment was not stored')
  const waiting = await built.deps.payments.transition(await built.deps.payments.transition(stored, 'processing'), 'requires_action', { providerRef: 'pi_3MtwBwLkdIwHu7ix28a3tqPa', clientSecret: 'pi_3MtwBwLkdIwHu7ix28a3tqPa_secret_YrKJUKribcBjcG8HVhfZluoGH' })

  const read = await built.app.inject({ method: 'GET', url: `/v1/payments/${stored.id}`, headers: bearer('read') })
  t.match(read.json(), { status: 'requires_action', clientSecret: 'pi_3MtwBwLkdIwHu7ix28a3tqPa_secret_YrKJUKribcBjcG8HVhfZluoGH' })
  await built.deps.payments.transition(waiting, 'succeeded')
  const settled = await built.app.inject({ method: 'GET', url: `/v1/payments/${stored.id}`, headers: bearer('read') })
  t.match(settled.json(), { status: 'succeeded' })
  t.notOk('clientSecret' in settled.json(), 'the secret is dropped once settled')
})

t.test('providerCustomer and providerPaymentMethod are validated as Stripe ids and stored', async (t) => {
  const built = await build(t)
  const good = await create(built, body({ providerCustomer: 'cus_NffrFeUfNV2Hib', providerPaymentMethod: 'pm_1MqLiJLkdIwHu7ixUEgbFdYF' }))
  t.equal(good.statusCode, 201)
  t.match(await built.deps.payments.get(good.json().id), { providerCustomer: 'cus_NffrFeUfNV2Hib', providerPaymentMethod: 'pm_1MqLiJLkdIwHu7ixUEgbFdYF' })
  const bad = await create(built, body({ providerCustomer: 'pm_123', providerPaymentMethod: 'card_123', confirmation: 'later' }))
  const problem = assertProblem(t, bad, 400, 'validation')
  t.same([...new Set((problem.invalidParams as Array<{ name: string }>).map((p) => p.name))].sort(), ['body/confirmation', 'body/providerCustomer', 'body/providerPaymentMethod'])
})

t.test('with Stripe, an amount Stripe cannot charge is refused at creation with a clear problem', async (t) => {
  const built = await build(t, { env: { PAYMENT_PROVIDER: 'stripe', STRIPE_SECRET_KEY: 'sk_test_routes' } })
  for (const currency of ['BHD', 'JOD', 'KWD', 'OMR', 'TND']) {
    const problem = assertProblem(t, await create(built, body({ currency, amount: 5124 })), 400, 'amount-not-chargeable')
    t.match(problem.detail, /last digit is 0.*5120 or 5130/, `${currency} says how to round`)
    t.equal((await create(built, body({ currency, amount: 5120 }))).statusCode, 201, `${currency} ending in 0 is taken`)
  }
  t.equal((await create(built, body({ currency: 'ISK', amount: 999_999 }))).statusCode, 201)
  assertProblem(t, await create(built, body({ currency: 'ISK', amount: 1_000_000 })), 400, 'amount-not-chargeable')
})

t.test('with the sandbox, three-decimal amounts need not end in 0', async (t) => {
  const built = await build(t)
  t.equal((await create(built, body({ currency: 'KWD', amount: 5124 }))).statusCode, 201)
})
