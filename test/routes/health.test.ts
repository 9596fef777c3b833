import t from 'tap'
import { build, closedEndpoint } from '../helpers/build.js'

t.test('GET /health answers 200 without touching any dependency', async (t) => {
  const { app } = await build(t, { bootstrap: false, env: { AWS_ENDPOINT_URL: await closedEndpoint() } })
  const response = await app.inject({ method: 'GET', url: '/health' })
  t.equal(response.statusCode, 200)
  t.same(response.json(), { status: 'ok' })
})

t.test('GET /ready answers 200 when DynamoDB answers for the table', async (t) => {
  const { app } = await build(t)
  const response = await app.inject({ method: 'GET', url: '/ready' })
  t.equal(response.statusCode, 200)
  t.same(response.json(), { status: 'ready', checks: { dynamodb: 'ok' } })
})

t.test('GET /ready answers 503 problem+json when the emulator is down', async (t) => {
  const { app } = await build(t, { bootstrap: false, env: { AWS_ENDPOINT_URL: await closedEndpoint() } })
  const response = await app.inject({ method: 'GET', url: '/ready' })
  t.equal(response.statusCode, 503)
  t.match(response.headers['content-type'], /^application\/problem\+json/)
  t.match(response.json(), {
    type: 'https://paylith.dev/problems/dependency-unavailable',
    title: 'Service Unavailable',
    status: 503,
    code: 'PAYLITH_DEPENDENCY_UNAVAILABLE',
    detail: /DynamoDB did not answer for table paylith-/
  })
})

t.test('GET /ready answers 503 when the table does not exist', async (t) => {
  const { app } = await build(t, { bootstrap: false })
  const response = await app.inject({ method: 'GET', url: '/ready' })
  t.equal(response.statusCode, 503)
  t.equal(response.json().code, 'PAYLITH_DEPENDENCY_UNAVAILABLE')
})

t.test('GET /ready names each further readiness check that passes', async (t) => {
  const { app } = await build(t, { deps: { readiness: () => [{ name: 'poller', ok: true, detail: 'fine' }] } })
  const response = await app.inject({ method: 'GET', url: '/ready' })
  t.equal(response.statusCode, 200)
  t.same(response.json(), { status: 'ready', checks: { poller: 'ok', dynamodb: 'ok' } })
})

t.test('GET /ready answers 503 with the detail of a further readiness check that fails', async (t) => {
  const { app } = await build(t, { deps: { readiness: () => [{ name: 'poller', ok: false, detail: 'the poller is stuck' }] } })
  const response = await app.inject({ method: 'GET', url: '/ready' })
  t.equal(response.statusCode, 503)
  t.match(response.json(), { code: 'PAYLITH_DEPENDENCY_UNAVAILABLE', status: 503, detail: 'the poller is stuck' })
})
