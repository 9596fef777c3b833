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
