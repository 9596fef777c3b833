import t from 'tap'
import { createLambdaHandler } from '../../src/lambda/handler.js'
import { createLocalContext } from '../../src/local/lambda-context.js'
import { createLogger } from '../../src/observability/logger.js'
import type { App } from '../../src/app.js'
import { build } from '../helpers/build.js'
import { httpApiEvent, restApiEvent } from '../helpers/events.js'
import { jsonLines } from '../helpers/lines.js'

interface ProxyResult { statusCode: number, headers: Record<string, string>, body: string }

const context = () => createLocalContext('paylith-test', 30_000)

function routes (app: App): void {
  app.get('/ok', { config: { auth: 'public' } }, async (request) => { request.log.info('handled'); return { ok: true } })
  app.get('/boom', { config: { auth: 'public' } }, async () => { throw new Error('internal detail') })
}

t.test('locally a request gets a new id, never the client\'s X-Request-Id, in the Request-Id header and every problem', async (t) => {
  const { app } = await build(t, { bootstrap: false, configure: routes })
  const ok = await app.inject({ method: 'GET', url: '/ok', headers: { 'x-request-id': 'client-chosen' } })
  const again = await app.inject({ method: 'GET', url: '/ok' })
  t.match(ok.headers['request-id'], /^req_[A-Za-z0-9_-]{16}$/)
  t.not(ok.headers['request-id'], again.headers['request-id'], 'one id per request')

  const missing = await app.inject({ method: 'GET', url: '/nowhere', headers: { 'x-request-id': 'client-chosen' } })
  t.equal(missing.statusCode, 404)
  t.match(missing.headers['request-id'], /^req_/)
  t.equal(missing.json().requestId, missing.headers['request-id'], 'the problem names the request')

  const unauthorized = await app.inject({ method: 'GET', url: '/v1/payments/pay_1' })
  t.equal(unauthorized.statusCode, 401)
  t.equal(unauthorized.json().requestId, unauthorized.headers['request-id'])

  const failed = await app.inject({ method: 'GET', url: '/boom' })
  t.equal(failed.statusCode, 500)
  const id = failed.headers['request-id'] as string
  t.match(failed.json(), { requestId: id, detail: new RegExp(`quote request id ${id} `) })
})

t.test('in Lambda API Gateway\'s request id names the request (v2 and v1), whatever X-Request-Id the client sends', async (t) => {
  const logs = jsonLines()
  const { app } = await build(t, { bootstrap: false, configure: routes, logger: createLogger({ logLevel: 'info' }, logs.sink) })
  const handler = createLambdaHandler({ app, workers: { queues: {}, streams: {} } })
  await app.ready()

  const v2 = await handler(httpApiEvent({ path: '/ok', headers: { 'x-request-id': 'client-chosen' }, requestId: 'gw-v2' }), context()) as ProxyResult
  t.equal(v2.headers['request-id'], 'gw-v2')
  t.same(logs.lines.filter((line) => line.msg === 'handled').map((line) => line.reqId), ['gw-v2'], 'the logs name it too')

  const v1 = await handler(restApiEvent({ path: '/nowhere', headers: { 'X-Request-Id': 'client-chosen' }, requestId: 'gw-v1' }), context()) as ProxyResult
  t.equal(v1.statusCode, 404)
  t.equal(v1.headers['request-id'], 'gw-v1')
  t.equal(JSON.parse(v1.body).requestId, 'gw-v1')
  t.notOk(logs.lines.some((line) => line.reqId === 'client-chosen'), 'the client\'s id names nothing')
})
