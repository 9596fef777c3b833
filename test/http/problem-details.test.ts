import * as Type from '@sinclair/typebox'
import t from 'tap'
import type { App } from '../../src/app.js'
import { IdempotencyKeyInFlightError, NotFoundError, UnknownPaymentError } from '../../src/domain/errors.js'
import { build } from '../helpers/build.js'

// Test-only routes on the production app, to drive each branch of the error handler.
function testRoutes (app: App): void {
  app.post('/test/validated', {
    config: { auth: 'public' },
    schema: {
      body: Type.Object({
        amount: Type.Integer({ minimum: 1 }),
        currency: Type.String({ pattern: '^[A-Z]{3}$' })
      }, { additionalProperties: false }),
      querystring: Type.Object({ limit: Type.Optional(Type.Integer({ maximum: 100 })) })
    }
  }, async () => ({ ok: true }))
  app.get('/test/missing', { config: { auth: 'public' } }, async () => { throw new NotFoundError('payment pay_123 does not exist') })
  app.get('/test/crash', { config: { auth: 'public' } }, async () => { throw new Error('secret internals: connection string xyz') })
  app.get('/test/busy', { config: { auth: 'public' } }, async () => { throw new IdempotencyKeyInFlightError('still busy', { key: 'k', retryAfterSeconds: 3 }) })
  app.get('/test/internal', { config: { auth: 'public' } }, async () => { throw new UnknownPaymentError('charge: no payment pay_secret') })
}

const PROBLEM = /^application\/problem\+json/

t.test('a validation error is 400 problem+json listing every failing field', async (t) => {
  const { app } = await build(t, { bootstrap: false, configure: testRoutes })
  const response = await app.inject({ method: 'POST', url: '/test/validated', payload: { amount: 0, currency: 'euro', extra: 1 } })
  t.equal(response.statusCode, 400)
  t.match(response.headers['content-type'], PROBLEM)
  const body = response.json()
  t.match(body, { type: 'https://paylith.dev/problems/validation', title: 'Validation Failed', status: 400, code: 'PAYLITH_HTTP_VALIDATION' })
  t.same(body.invalidParams.map((p: { name: string }) => p.name).sort(), ['body/amount', 'body/currency', 'body/extra'])
})

t.test('a missing required field is named by its path', async (t) => {
  const { app } = await build(t, { bootstrap: false, configure: testRoutes })
  const response = await app.inject({ method: 'POST', url: '/test/validated', payload: { amount: 5 } })
  t.equal(response.statusCode, 400)
  t.same(response.json().invalidParams, [{ name: 'body/currency', reason: "must have required property 'currency'" }])
})

t.test('malformed JSON is 400 problem+json', async (t) => {
  const { app } = await build(t, { bootstrap: false, configure: testRoutes })
  const response = await app.inject({ method: 'POST', url: '/test/validated', headers: { 'content-type': 'application/json' }, payload: '{"amount":' })
  t.equal(response.statusCode, 400)
  t.match(response.headers['content-type'], PROBLEM)
  t.match(response.json(), { type: 'https://paylith.dev/problems/malformed-request', status: 400 })
})

t.test('an unsupported media type is 415 problem+json', async (t) => {
  const { app } = await build(t, { bootstrap: false, configure: testRoutes })
  const response = await app.inject({ method: 'POST', url: '/test/validated', headers: { 'content-type': 'text/csv' }, payload: 'a,b' })
  t.equal(response.statusCode, 415)
  t.match(response.json(), { type: 'https://paylith.dev/problems/unsupported-media-type', status: 415 })
})

t.test('a body over the limit is 413 problem+json', async (t) => {
  const { app } = await build(t, { bootstrap: false, configure: testRoutes })
  const response = await app.inject({ method: 'POST', url: '/test/validated', headers: { 'content-type': 'application/json' }, payload: `{"pad":"${'x'.repeat(300 * 1024)}"}` })
  t.equal(response.statusCode, 413)
  t.match(response.json(), { type: 'https://paylith.dev/problems/payload-too-large', status: 413 })
})

t.test('a tabled error is answered with its table entry and its message', async (t) => {
  const { app } = await build(t, { bootstrap: false, configure: testRoutes })
  const response = await app.inject({ method: 'GET', url: '/test/missing' })
  t.equal(response.statusCode, 404)
  t.same(response.json(), {
    type: 'https://paylith.dev/problems/not-found',
    title: 'Not Found',
    status: 404,
    detail: 'payment pay_123 does not exist',
    code: 'PAYLITH_HTTP_NOT_FOUND',
    requestId: response.headers['request-id']
  })
})

t.test('an error whose entry calls for headers gets them, from the error\'s data', async (t) => {
  const { app } = await build(t, { bootstrap: false, configure: testRoutes })
  const response = await app.inject({ method: 'GET', url: '/test/busy' })
  t.equal(response.headers['retry-after'], '3')
  t.match(response.json(), { type: 'https://paylith.dev/problems/idempotency-key-in-flight', status: 409, detail: 'still busy', code: 'PAYLITH_IDEMPOTENCY_KEY_IN_FLIGHT' })
})

t.test('an internal error of the service is a generic 500: its code and message stay inside', async (t) => {
  const { app } = await build(t, { bootstrap: false, configure: testRoutes })
  const response = await app.inject({ method: 'GET', url: '/test/internal' })
  t.equal(response.statusCode, 500)
  t.match(response.json(), { type: 'https://paylith.dev/problems/internal', code: 'PAYLITH_INTERNAL' })
  t.notMatch(response.body, /PAYLITH_PAYMENT_UNKNOWN|pay_secret/)
})

t.test('an unexpected error is a generic 500 with no internals', async (t) => {
  const { app } = await build(t, { bootstrap: false, configure: testRoutes })
  const response = await app.inject({ method: 'GET', url: '/test/crash' })
  t.equal(response.statusCode, 500)
  t.match(response.headers['content-type'], PROBLEM)
  t.match(response.json(), { type: 'https://paylith.dev/problems/internal', status: 500, code: 'PAYLITH_INTERNAL' })
  t.notMatch(response.body, /secret internals|connection string|at .*\.ts/)
})

t.test('an unknown route is 404 problem+json', async (t) => {
  const { app } = await build(t, { bootstrap: false })
  const response = await app.inject({ method: 'DELETE', url: '/nowhere?x=1' })
  t.equal(response.statusCode, 404)
  t.match(response.headers['content-type'], PROBLEM)
  t.match(response.json(), { type: 'https://paylith.dev/problems/not-found', detail: 'No route DELETE /nowhere' })
})
