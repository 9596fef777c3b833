import { connect } from 'node:net'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { clientErrorProblem } from '../../src/http/client-errors.js'
import { createLocalContext } from '../../src/local/lambda-context.js'
import { bearer, build } from '../helpers/build.js'
import { httpApiEvent } from '../helpers/events.js'

// What Fastify refuses before routing, and Node's HTTP parser before Fastify, is problem+json too.

const PROBLEM = /^application\/problem\+json/
const context = () => createLocalContext('paylith-framework-errors', 30_000)

/** Sends raw bytes to a listening server and reads the whole answer (the server closes the connection). */
async function rawRequest (port: number, request: string): Promise<{ status: number, headers: string, body: string }> {
  const socket = connect(port, '127.0.0.1')
  socket.setTimeout(10_000, () => socket.destroy(new Error('no answer within 10 s')))
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  const closed = new Promise<void>((resolve, reject) => {
    socket.on('close', () => { resolve() })
    socket.on('error', (error: NodeJS.ErrnoException) => { if (error.code === 'ECONNRESET' || error.code === 'EPIPE') resolve(); else reject(error) })
  })
  socket.write(request)
  await closed
  const text = Buffer.concat(chunks).toString('utf8')
  const [head = '', body = ''] = text.split('\r\n\r\n')
  return { status: Number(head.split(' ')[1]), headers: head, body }
}

t.test('a URL that does not decode is 400 problem+json, not Fastify\'s plain JSON', async (t) => {
  const { app } = await build(t, { bootstrap: false })
  const response = await app.inject({ method: 'GET', url: '/v1/payments/%zz', headers: bearer() })
  t.equal(response.statusCode, 400)
  t.match(response.headers['content-type'], PROBLEM)
  t.match(response.json(), { type: 'https://paylith.dev/problems/malformed-request', status: 400, title: 'Bad Request', code: 'PAYLITH_HTTP_400', detail: /not a valid url component/ })
})

t.test('a path parameter over the maximum length is 414 problem+json', async (t) => {
  const { app } = await build(t, { bootstrap: false })
  const response = await app.inject({ method: 'GET', url: `/v1/payments/pay_${'x'.repeat(200)}`, headers: bearer() })
  t.equal(response.statusCode, 414)
  t.match(response.headers['content-type'], PROBLEM)
  t.match(response.json(), { type: 'https://paylith.dev/problems/uri-too-long', status: 414, title: 'URI Too Long', code: 'PAYLITH_HTTP_414' })
})

t.test('through the Lambda handler (API Gateway), the same URLs get the same problem+json', async (t) => {
  const { handler } = await build(t, { bootstrap: false })
  for (const [path, status, slug] of [['/v1/payments/%zz', 400, 'malformed-request'], [`/v1/payments/${'x'.repeat(101)}`, 414, 'uri-too-long']] as const) {
    const response = await handler(httpApiEvent({ path, headers: bearer() }), context()) as { statusCode: number, headers: Record<string, string>, body: string }
    t.equal(response.statusCode, status, path.slice(0, 20))
    t.match(response.headers['content-type'], PROBLEM)
    t.match(JSON.parse(response.body), { type: `https://paylith.dev/problems/${slug}`, status })
  }
})

t.test('on a listening server, what Node\'s HTTP parser refuses is problem+json', async (t) => {
  const { app } = await build(t, { bootstrap: false })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo

  t.test('headers over the limit are 431', async (t) => {
    const answer = await rawRequest(port, `GET /health HTTP/1.1\r\nHost: localhost\r\nX-Padding: ${'a'.repeat(20 * 1024)}\r\n\r\n`)
    t.equal(answer.status, 431)
    t.match(answer.headers, /content-type: application\/problem\+json/i)
    t.match(JSON.parse(answer.body), { type: 'https://paylith.dev/problems/header-fields-too-large', status: 431, title: 'Request Header Fields Too Large', code: 'PAYLITH_HTTP_431' })
  })

  t.test('a request that is not HTTP is 400', async (t) => {
    const answer = await rawRequest(port, 'HELLO\r\n\r\n')
    t.equal(answer.status, 400)
    t.match(JSON.parse(answer.body), { type: 'https://paylith.dev/problems/malformed-request', status: 400, code: 'PAYLITH_HTTP_400' })
  })

  t.test('the server still answers normally afterwards', async (t) => {
    const answer = await rawRequest(port, 'GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')
    t.equal(answer.status, 200)
  })
})

t.test('a request not received in time is 408 problem+json', async (t) => {
  t.match(clientErrorProblem({ code: 'ERR_HTTP_REQUEST_TIMEOUT' }), { type: 'https://paylith.dev/problems/request-timeout', status: 408, code: 'PAYLITH_HTTP_408' })
})
