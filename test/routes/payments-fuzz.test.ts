import fc from 'fast-check'
import t, { type Test } from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { build, bearer } from '../helpers/build.js'

// Property: whatever a client throws at the payment routes, the answer is never a 5xx, and
// every 4xx is problem+json with a type and a status that matches the response.

const RUNS = 150

function isWellFormedAnswer (response: LightMyRequestResponse): boolean {
  if (response.statusCode >= 500) return false
  if (response.statusCode < 400) return true
  if (!/^application\/problem\+json/.test(String(response.headers['content-type']))) return false
  const problem = response.json() as { type?: unknown, status?: unknown, title?: unknown }
  return typeof problem.type === 'string' && problem.status === response.statusCode && typeof problem.title === 'string'
}

/** Runs the property RUNS times and asserts that every run held (the report names the counterexample). */
async function assertHolds<Ts> (t: Pick<Test, 'equal'>, property: fc.IAsyncProperty<Ts>, what: string): Promise<void> {
  const details = await fc.check(property, { numRuns: RUNS })
  t.equal(details.failed, false, fc.defaultReportMessage(details) ?? what)
  t.equal(details.numRuns, RUNS, `all ${RUNS} runs were made`)
}

const jsonValue = fc.jsonValue({ maxDepth: 3 })
const plausibleBody = fc.record({
  amount: fc.oneof(fc.integer({ min: -10, max: 100_000_001 }), fc.double(), fc.string(), fc.constant(null)),
  currency: fc.oneof(fc.constantFrom('EUR', 'USD', 'JPY', 'eur', 'ABC', 'XTS', ''), fc.string({ maxLength: 5 })),
  customerId: fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), fc.string({ maxLength: 80 })),
  description: fc.string({ maxLength: 600 }),
  metadata: fc.dictionary(fc.string({ maxLength: 45 }), fc.oneof(fc.string({ maxLength: 10 }), fc.integer()), { maxKeys: 22 }),
  extra: jsonValue
}, { requiredKeys: [] })
const validBody = fc.record({
  amount: fc.integer({ min: 1, max: 99_999_999 }),
  currency: fc.constantFrom('EUR', 'USD', 'JPY', 'GBP'),
  customerId: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
  description: fc.string({ maxLength: 500 }),
  metadata: fc.dictionary(fc.string({ minLength: 1, maxLength: 40 }), fc.string({ maxLength: 50 }), { maxKeys: 20 })
}, { requiredKeys: ['amount', 'currency', 'customerId'] })
const headerValue = fc.oneof(fc.string({ maxLength: 300 }), fc.constantFrom('', '""', '"a"b"', 'k'.repeat(256)))
const authHeader = fc.oneof(fc.constant(bearer('all').authorization), fc.constant(bearer('read').authorization), fc.constant(''), fc.string({ maxLength: 40 }))

t.test('POST /v1/payments: random and malformed bodies and headers', async (t) => {
  const { app } = await build(t)
  const statuses = new Set<number>()
  await assertHolds(t, fc.asyncProperty(
    fc.oneof({ arbitrary: validBody, weight: 3 }, plausibleBody, jsonValue),
    fc.option(fc.oneof({ arbitrary: fc.stringMatching(/^[\x21-\x7E]{1,40}$/), weight: 3 }, headerValue), { nil: undefined, freq: 5 }),
    fc.oneof({ arbitrary: fc.constant(bearer('all').authorization), weight: 4 }, authHeader),
    fc.constantFrom('application/json', 'application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded'),
    async (payload, idempotencyKey, authorization, contentType) => {
      const headers: Record<string, string> = { 'content-type': contentType, authorization }
      if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey.replace(/[\r\n]/g, '')
      const response = await app.inject({ method: 'POST', url: '/v1/payments', headers, payload: JSON.stringify(payload) })
      statuses.add(response.statusCode)
      return isWellFormedAnswer(response)
    }
  ), 'random requests: no 5xx, every 4xx problem+json')
  t.ok(statuses.has(201) && statuses.has(400) && statuses.has(401), `the inputs reach every layer, creation included (saw ${[...statuses].sort().join(', ')})`)
})

t.test('POST /v1/payments: bodies that are not JSON at all', async (t) => {
  const { app } = await build(t)
  await assertHolds(t, fc.asyncProperty(fc.string({ maxLength: 200 }), async (text) => {
    const response = await app.inject({ method: 'POST', url: '/v1/payments', headers: { ...bearer(), 'idempotency-key': 'k', 'content-type': 'application/json' }, payload: text })
    return isWellFormedAnswer(response)
  }), 'malformed JSON never breaks the route')
})

t.test('GET routes: random ids and query strings', async (t) => {
  const { app } = await build(t)
  const queryPart = fc.tuple(fc.constantFrom('customerId', 'limit', 'cursor', 'other', ''), fc.string({ maxLength: 60 }))
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`)
  await assertHolds(t, fc.asyncProperty(
    fc.string({ maxLength: 40 }),
    fc.array(queryPart, { maxLength: 4 }),
    authHeader,
    async (id, query, authorization) => {
      const list = await app.inject({ method: 'GET', url: `/v1/payments?${query.join('&')}`, headers: { authorization } })
      const one = await app.inject({ method: 'GET', url: `/v1/payments/${encodeURIComponent(id)}`, headers: { authorization } })
      const events = await app.inject({ method: 'GET', url: `/v1/payments/${encodeURIComponent(id)}/events`, headers: { authorization } })
      return isWellFormedAnswer(list) && isWellFormedAnswer(one) && isWellFormedAnswer(events)
    }
  ), 'no 5xx from random reads')
})
