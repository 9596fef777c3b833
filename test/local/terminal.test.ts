import { stripVTControlCharacters } from 'node:util'
import t from 'tap'
import { localOutput, metricLine, terminalLines } from '../../src/local/terminal.js'

function capture (): { text: () => string, stdout: { write: (chunk: string) => boolean } } {
  const chunks: string[] = []
  return { text: () => stripVTControlCharacters(chunks.join('')), stdout: { write: (chunk) => { chunks.push(chunk); return true } } }
}

const incoming = { level: 30, time: 1, reqId: 'req_a', req: { method: 'POST', url: '/v1/payments', host: 'localhost', remoteAddress: '127.0.0.1', remotePort: 5 }, msg: 'incoming request' }
const completed = { level: 30, time: 2, reqId: 'req_a', res: { statusCode: 201 }, responseTime: 12.4, msg: 'request completed' }
const document = (value: number) => JSON.stringify({ _aws: { Timestamp: 3, CloudWatchMetrics: [{ Namespace: 'paylith', Dimensions: [['provider']], Metrics: [{ Name: 'PaymentSucceeded', Unit: 'Count' }] }] }, provider: 'sandbox', PaymentSucceeded: value })

t.test('not on a terminal, logs and metric documents stay JSON lines on stdout', async (t) => {
  const { stdout } = capture()
  const output = await localOutput({ isTTY: false, logMetrics: false, stdout })
  t.equal(output.logs, undefined, 'pino writes its own JSON lines')
  t.equal(output.metrics, stdout, 'documents as they are')
})

t.test('on a terminal a request is one line, and metric documents are hidden', async (t) => {
  const { text, stdout } = capture()
  const output = await localOutput({ isTTY: true, logMetrics: false, stdout })
  output.logs?.write(JSON.stringify(incoming))
  output.logs?.write(JSON.stringify(completed))
  output.logs?.write(JSON.stringify({ level: 30, time: 4, messageId: 'm-1', paymentId: 'pay_1', awsRequestId: 'a', pid: 1, hostname: 'h', service: 'paylith', msg: 'payment status changed', from: 'pending', to: 'processing' }))
  output.metrics.write(`${document(1)}\n${document(1)}\n`)
  const lines = text().trimEnd().split('\n')
  t.equal(lines.length, 2, 'one line for the request, one for the worker step, none for the metrics')
  t.match(lines[0], /INFO: POST \/v1\/payments 201 12ms \{"reqId":"req_a"\}$/)
  t.match(lines[1], /INFO: payment status changed \{"messageId":"m-1","paymentId":"pay_1","from":"pending","to":"processing"\}$/)
})

t.test('on a terminal with LOG_METRICS a metric document is one short line', async (t) => {
  const { text, stdout } = capture()
  const output = await localOutput({ isTTY: true, logMetrics: true, stdout })
  output.metrics.write(`${document(1)}\n${document(2)}\n`)
  const lines = text().trimEnd().split('\n')
  t.equal(lines.length, 2)
  t.match(lines[1], /INFO: metric PaymentSucceeded 2 \{"provider":"sandbox"\}$/)
})

t.test('a request whose start was not seen still prints, and open requests are bounded', async (t) => {
  const compact = terminalLines()
  t.match(compact(completed), { msg: '? ? 201 12ms', reqId: 'req_a' })
  for (let i = 0; i < 1_001; i++) compact({ ...incoming, reqId: `req_${i}` })
  t.match(compact({ ...completed, reqId: 'req_0' }), { msg: '? ? 201 12ms' }, 'the oldest was let go')
  t.match(compact({ ...completed, reqId: 'req_1000', responseTime: undefined }), { msg: 'POST /v1/payments 201' })
  t.match(metricLine({ _aws: 'not emf' }), { msg: 'metric ? undefined' })
})
