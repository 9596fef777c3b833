import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { createLogger } from '../../src/observability/logger.js'
import { INVOKE_USAGE, InvokeUsageError, invokeOnce, parseInvokeArgs } from '../../src/local/invoke.js'
import { bearer, testConfig } from '../helpers/build.js'
import { localAwsEndpoint, uniqueNames } from '../helpers/aws.js'
import { httpApiEvent } from '../helpers/events.js'
import { runScript } from '../helpers/scripts.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers of the handler under test
type Json = any

const quiet = { logger: createLogger({ logLevel: 'silent' }), metricsDestination: { write: () => true } }

t.test('the arguments: an example kind or an event file, and the example request', async (t) => {
  t.same(parseInvokeArgs(['apigw', '--method', 'post', '--path', '/v1/payments?x=1', '--header', 'Idempotency-Key: k1', '--body', '{}']), {
    kind: 'apigw', file: undefined, headers: { 'idempotency-key': 'k1' }, method: 'POST', path: '/v1/payments?x=1', body: '{}'
  })
  t.same(parseInvokeArgs(['event.json']), { kind: undefined, file: 'event.json', headers: {} })
  t.match(parseInvokeArgs(['sqs', '--payment-id', 'pay_1']), { kind: 'sqs', paymentId: 'pay_1' })
  t.throws(() => parseInvokeArgs([]), new InvokeUsageError(INVOKE_USAGE))
  t.throws(() => parseInvokeArgs(['apigw', '--nope']), { name: 'InvokeUsageError', message: /--nope/ })
  t.throws(() => parseInvokeArgs(['apigw', '--header', 'no-colon']), { message: "--header no-colon: expected 'name: value'" })
})

t.test('each generated example reaches its handler through the same dispatch as Lambda', async (t) => {
  const config = await testConfig(t.name, { API_KEYS: '' })
  const created: Json = await invokeOnce(config, parseInvokeArgs(['apigw', '--method', 'POST', '--path', '/v1/payments', '--header', 'Idempotency-Key: invoke-1', '--body', '{"amount":1999,"currency":"EUR","customerId":"cus_invoke"}']), quiet)
  t.equal(created.result.statusCode, 201, 'the generated key authenticates the example')
  const payment = JSON.parse(created.result.body)
  t.match(payment, { id: /^pay_/, status: 'pending' })

  const read: Json = await invokeOnce(config, parseInvokeArgs(['apigw', '--path', `/v1/payments/${payment.id as string}`]), quiet)
  t.equal(read.result.statusCode, 200, 'the data stays in the emulator between invocations')

  const stream: Json = await invokeOnce(config, parseInvokeArgs(['stream', '--payment-id', payment.id]), quiet)
  t.same(stream.result, { batchItemFailures: [] })
  t.match(stream.event.Records[0].eventSourceARN, `table/${config.tableName}/stream/`)

  const sqs: Json = await invokeOnce(config, parseInvokeArgs(['sqs', '--payment-id', payment.id]), quiet)
  t.same(sqs.result, { batchItemFailures: [] }, 'the charge command for the payment succeeds')
  t.match(sqs.event.Records[0], { eventSource: 'aws:sqs', body: JSON.stringify({ type: 'charge', paymentId: payment.id }) })

  const schedule: Json = await invokeOnce(config, parseInvokeArgs(['schedule']), quiet)
  t.match(schedule.result, { resent: Number })
})

t.test('an event file is sent as it is; an unreadable or non-JSON file is one line', async (t) => {
  const config = await testConfig(t.name)
  const dir = await mkdtemp(join(tmpdir(), 'paylith-invoke-'))
  const file = join(dir, 'event.json')
  await writeFile(file, JSON.stringify(httpApiEvent({ path: '/v1/payments', query: 'customerId=cus_none', headers: bearer() })))
  const listed: Json = await invokeOnce(config, parseInvokeArgs([file]), quiet)
  t.equal(listed.result.statusCode, 200)
  t.same(JSON.parse(listed.result.body).data, [])

  await t.rejects(invokeOnce(config, parseInvokeArgs([join(dir, 'missing.json')]), quiet), { name: 'InvokeUsageError', message: /missing\.json is neither a kind of example \(apigw, sqs, stream, schedule\) nor a readable event file/ })
  await writeFile(join(dir, 'bad.json'), '{')
  await t.rejects(invokeOnce(config, parseInvokeArgs([join(dir, 'bad.json')]), quiet), { message: /bad\.json is not JSON/ })
})

t.test('npm run invoke prints only the handler result on stdout, and usage errors in one line', async (t) => {
  const names = uniqueNames(t.name)
  const env = { ...process.env, AWS_ENDPOINT_URL: await localAwsEndpoint(), TABLE_NAME: names.tableName, WORK_QUEUE_NAME: names.workQueueName, DEAD_LETTER_QUEUE_NAME: names.deadLetterQueueName }
  const run = async (args: string[]) => runScript('invoke.ts', args, env, 60_000)
  const health = await run(['apigw'])
  t.equal(health.code, 0, health.stderr)
  t.match(JSON.parse(health.stdout), { statusCode: 200, body: '{"status":"ok"}' })
  const usage = await run([])
  t.equal(usage.code, 2)
  t.equal(usage.stderr, `invoke: ${INVOKE_USAGE}\n`)
})
