import t from 'tap'
import { build } from '../helpers/build.js'

t.test('GET /openapi.json is an OpenAPI 3 document of every route, with auth and problem responses', async (t) => {
  const { app } = await build(t, { bootstrap: false })
  const response = await app.inject({ method: 'GET', url: '/openapi.json' })
  t.equal(response.statusCode, 200)
  const doc = response.json()
  t.match(doc.openapi, /^3\./)
  t.same(Object.keys(doc.paths).sort(), ['/health', '/ready', '/v1/customers/{id}/summary', '/v1/dead-letters', '/v1/dead-letters/{id}/redrive', '/v1/payments', '/v1/payments/{id}', '/v1/payments/{id}/cancel', '/v1/payments/{id}/events', '/v1/payments/{id}/refunds', '/v1/refunds/{id}', '/v1/settlements', '/v1/settlements/{id}', '/v1/settlements/{id}/discrepancies', '/v1/webhooks/{provider}'])
  t.equal(doc.paths['/v1/webhooks/{provider}'].post.security, undefined, 'webhooks authenticate by signature, not API key')

  const create = doc.paths['/v1/payments'].post
  t.same(create.security, [{ apiKey: [] }])
  t.match(create.description, /Requires scope `payments:write`/)
  t.same(create.requestBody.content['application/json'].schema.required, ['amount', 'currency', 'customerId'])
  t.match(create.parameters, [{ in: 'header', name: 'idempotency-key', required: true, description: /24 h/ }])
  t.same(Object.keys(create.responses).sort(), ['201', '400', '401', '403', '409', '422', '503'])
  t.ok(create.responses['422'].content['application/problem+json'], 'errors are documented as problem+json')
  const refund = doc.paths['/v1/payments/{id}/refunds'].post
  t.ok(refund.parameters.some((p: { in: string, name: string, required?: boolean }) => p.in === 'header' && p.name === 'idempotency-key' && p.required === true), 'a refund requires the key')
  t.same(Object.keys(refund.responses).sort(), ['201', '400', '401', '403', '404', '409', '422', '503'])
  t.match(refund.description, /Requires scope `payments:write`/)
  t.match(doc.paths['/v1/refunds/{id}'].get.description, /Requires scope `payments:read`/)
  t.equal(doc.paths['/health'].get.security, undefined, 'health is public')
  t.match(doc.components.securitySchemes.apiKey, { type: 'http', scheme: 'bearer' })
  t.match(doc.info.description, /IDEMPOTENCY_TTL_SECONDS \(default 24 h\)/, 'the idempotency policy is stated')
  t.same(doc.servers, [{ url: '/' }], 'relative to wherever it is served')
  const cancel = doc.paths['/v1/payments/{id}/cancel'].post
  t.same(cancel.security, [{ apiKey: [] }])
  t.match(cancel.description, /Requires scope `payments:write`/)
  t.match([...cancel.parameters].sort((a: { in: string }, b: { in: string }) => a.in.localeCompare(b.in)), [{ in: 'header', name: 'idempotency-key', required: true }, { in: 'path', name: 'id', required: true }])
  t.same(Object.keys(cancel.responses).sort(), ['200', '400', '401', '403', '404', '409', '422', '503'])
  t.equal(cancel.requestBody, undefined, 'a cancel takes no body')
  t.equal(doc.paths['/v1/payments'].get.parameters.some((p: { in: string, required?: boolean }) => p.in === 'header' && p.required === true), false, 'only the create and the cancel require the key')
})

t.test('GET /docs is an HTML page that renders /openapi.json', async (t) => {
  const { app } = await build(t, { bootstrap: false })
  const response = await app.inject({ method: 'GET', url: '/docs' })
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^text\/html/)
  t.match(response.body, /SwaggerUIBundle\(\{ url: 'openapi\.json'/)
  t.match(response.body, 'https://unpkg.com/swagger-ui-dist@', 'in Lambda the UI comes from a CDN')
})
