import { execFile } from 'node:child_process'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { coldPathFiles } from '../scripts/cold-path.js'
import { findNode22 } from '../scripts/node22.js'
import { createLocalContext } from '../src/local/lambda-context.js'
import { useLambdaEnvironment } from './helpers/lambda-env.js'
import { bearer, build } from './helpers/build.js'
import { httpApiEvent, paymentInsertRecord, sqsEvent, streamEvent } from './helpers/events.js'

// The built bundle, exactly what is deployed. `npm test` builds it first.
const bundle = new URL('../dist/lambda.mjs', import.meta.url)
if (!existsSync(bundle)) throw new Error('dist/lambda.mjs is missing: run `npm run build` (npm test does) before this test')

const config = await useLambdaEnvironment('dist')
const { handler } = await import(bundle.href) as { handler: (event: unknown, context: unknown) => Promise<unknown> }
const context = () => createLocalContext('paylith-dist', 30_000)

t.test('the bundle answers an HTTP API v2 event', async (t) => {
  const response = await handler(httpApiEvent({ path: '/ready' }), context()) as { statusCode: number; body: string }
  t.equal(response.statusCode, 200)
  t.same(JSON.parse(response.body), { status: 'ready', checks: { dynamodb: 'ok' } })
})

t.test('the bundle dispatches an SQS batch to the work-queue worker', async (t) => {
  // A charge for a payment that does not exist fails, so SQS would retry it.
  const event = sqsEvent(config.queues.work.name, ['{"type":"charge","paymentId":"pay_01JDQ3V0J6Q8ZC7W8E5T0R2N4M"}'])
  t.same(await handler(event, context()), { batchItemFailures: [{ itemIdentifier: event.Records[0]?.messageId }] })
})

t.test('the bundle dispatches a stream batch to the table-stream worker, which counts the new payment into its customer\'s summary', async (t) => {
  const payment = { id: 'pay_01JDQ3V0J6Q8ZC7W8E5T0R2N4B', customerId: 'cus_dist_stream', amount: 700, currency: 'GBP' }
  t.same(await handler(streamEvent([paymentInsertRecord(config.tableName, payment, '5')]), context()), { batchItemFailures: [] })
  // The summary exists only if this table's stream worker (and not some other, or none) ran.
  const response = await handler(httpApiEvent({ path: `/v1/customers/${payment.customerId}/summary`, headers: bearer('read') }), context()) as { statusCode: number; body: string }
  t.equal(response.statusCode, 200)
  t.same(JSON.parse(response.body).totals, [{ currency: 'GBP', status: 'pending', count: 1, amount: 700 }])
})

t.test('the bundle serves the OpenAPI document generated at build time: the one the app generates', async (t) => {
  const response = await handler(httpApiEvent({ path: '/openapi.json' }), context()) as { statusCode: number; body: string }
  t.equal(response.statusCode, 200)
  const { app } = await build(t, { bootstrap: false })
  await app.ready()
  t.same(JSON.parse(response.body), (await app.inject({ method: 'GET', url: '/openapi.json' })).json())
})

t.test('an API cold start reads none of what loads on first use', async (t) => {
  const dist = fileURLToPath(new URL('../dist/', import.meta.url))
  const files = coldPathFiles(dist)
  t.ok(files.length > 1 && files.includes('lambda.mjs'), `the cold path is lambda.mjs and its static chunks (${files.length} files)`)
  const coldPath = files.map((file) => readFileSync(new URL(file, `file://${dist}`), 'utf8')).join('\n')
  // A string only each of these holds, and that the rest of the bundle does hold (so the check can fail).
  const firstUse = {
    'the workers': 'charge: nothing to do, the payment is already settled',
    'the provider\'s circuit breaker (opossum)': 'EOPENBREAKER',
    'the Stripe SDK': 'api.stripe.com'
  }
  const everything = readdirAll(dist).map((file) => readFileSync(file, 'utf8')).join('\n')
  for (const [what, marker] of Object.entries(firstUse)) {
    t.ok(everything.includes(marker), `the bundle holds ${what}`)
    t.notOk(coldPath.includes(marker), `${what}: not on the cold path`)
  }
  t.notOk(everything.includes('the worker thread exited'), 'pino\'s transports (thread-stream) are left out of the bundle')
})

t.test('the bundle rejects an unknown event with UnsupportedEventError', async (t) => {
  await t.rejects(handler({ hello: 'world' }, context()), { name: 'UnsupportedEventError' })
})

// Lambda runs nodejs22.x: the same bundle, in a Node 22 process of its own, on the same resources.
const node22 = findNode22()
t.test('the bundle runs on Node 22 (Lambda\'s nodejs22.x): HTTP, SQS and an unknown event', { skip: 'missing' in node22 && node22.missing }, async (t) => {
  if (!('binary' in node22)) throw new Error('unreachable: skipped')
  const sqs = sqsEvent(config.queues.work.name, ['{"type":"charge","paymentId":"pay_01JDQ3V0J6Q8ZC7W8E5T0R2N4N"}'])
  const { node, results } = await runOn(node22.binary, [httpApiEvent({ path: '/ready' }), sqs, { hello: 'world' }])
  t.match(node, /^v22\./)
  const [ready, batch, unknown] = results as [{ response: { statusCode: number, body: string } }, { response: unknown }, { error: { name: string } }]
  t.equal(ready.response.statusCode, 200)
  t.same(JSON.parse(ready.response.body), { status: 'ready', checks: { dynamodb: 'ok' } })
  t.same(batch.response, { batchItemFailures: [{ itemIdentifier: sqs.Records[0]?.messageId }] })
  t.equal(unknown.error.name, 'UnsupportedEventError')
})

/** Invokes the bundle with these events in a process of that Node, with this process's environment. */
async function runOn (binary: string, events: unknown[]): Promise<{ node: string, results: unknown[] }> {
  const script = fileURLToPath(new URL('./helpers/invoke-bundle.mjs', import.meta.url))
  return new Promise((resolve, reject) => {
    const child = execFile(binary, [script, bundle.href], { env: process.env, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`Node 22 failed: ${stderr}`, { cause: error }))
      else resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as { node: string, results: unknown[] })
    })
    child.stdin?.end(JSON.stringify(events))
  })
}

/** Every .mjs file under `dir`. */
function readdirAll (dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((file) => file.endsWith('.mjs')).map((file) => join(dir, file))
}
