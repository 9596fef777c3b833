import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb'
import t from 'tap'
import { clientOptions } from '../../src/aws/clients.js'
import { INJECTED_MESSAGE, injectThrottling, type ThrottlingErrorName } from '../../src/local/injected-throttling.js'
import { testConfig, type Teardownable } from '../helpers/build.js'

// On DynamoDB Local, with the SDK's own retry strategy: the injected errors are the SDK's
// throttling exceptions, seen and retried by it as real ones are.

/** A repeatable sequence in [0, 1) (mulberry32), so the rate test never flakes. */
function seeded (seed: number): () => number {
  let state = seed
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let x = Math.imul(state ^ (state >>> 15), 1 | state)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4_294_967_296
  }
}

async function client (t: Teardownable, options: { maxAttempts?: number } = {}): Promise<DynamoDBClient> {
  const config = await testConfig(t.name)
  const dynamodb = new DynamoDBClient({ ...clientOptions(config, 'dynamodb'), ...options })
  t.teardown(() => { dynamodb.destroy() })
  return dynamodb
}

t.test('an injected throttle is the SDK\'s exception, labelled, and the SDK retries it like a real one', async (t) => {
  const dynamodb = await client(t)
  const injected: Array<[ThrottlingErrorName, string]> = []
  injectThrottling(dynamodb, { rate: () => 1, onInjected: (name, command) => { injected.push([name, command]) } })

  const maxAttempts = await dynamodb.config.maxAttempts()
  const error = await dynamodb.send(new ListTablesCommand({})).then(() => undefined, (e: unknown) => e)
  t.match(error, {
    name: /^(ProvisionedThroughputExceededException|ThrottlingException)$/,
    message: new RegExp(`on ListTablesCommand: ${INJECTED_MESSAGE}$`),
    $fault: 'client',
    $metadata: { httpStatusCode: 400, attempts: maxAttempts, requestId: /^injected-/ }
  }, `the last attempt's error, after the client's ${maxAttempts} attempts`)
  t.ok((error as { $metadata: { totalRetryDelay: number } }).$metadata.totalRetryDelay > 0, 'with the SDK\'s backoff between attempts')
  t.ok(maxAttempts > 1)
  t.equal(injected.length, maxAttempts, 'every attempt was a new draw, and failed')
  t.ok(injected.every(([, command]) => command === 'ListTablesCommand'))
})

t.test('a retried call that is not throttled again succeeds', async (t) => {
  const dynamodb = await client(t)
  // Draws: throttle (0.1 < 0.5), which error (0.9: ThrottlingException), then no throttle (0.7).
  const draws = [0.1, 0.9, 0.7]
  const injected: ThrottlingErrorName[] = []
  injectThrottling(dynamodb, { rate: () => 0.5, random: () => draws.shift() ?? 0.99, onInjected: (name) => { injected.push(name) } })

  const output = await dynamodb.send(new ListTablesCommand({}))
  t.same(injected, ['ThrottlingException'])
  t.equal(output.$metadata.attempts, 2, 'the second attempt reached DynamoDB Local')
  t.ok(Array.isArray(output.TableNames))
})

t.test('calls fail at the rate read on each attempt, and none at rate 0', async (t) => {
  const dynamodb = await client(t, { maxAttempts: 1 })
  let rate = 0.25
  let injected = 0
  injectThrottling(dynamodb, { rate: () => rate, random: seeded(12), onInjected: () => { injected++ } })

  const calls = 400
  let failed = 0
  for (let i = 0; i < calls; i++) {
    await dynamodb.send(new ListTablesCommand({ Limit: 1 })).catch(() => { failed++ })
  }
  t.equal(failed, injected, 'each failure is an injected one, counted')
  t.ok(Math.abs(failed / calls - rate) < 0.05, `${failed} of ${calls} failed at rate ${rate}`)

  rate = 0
  injected = 0
  for (let i = 0; i < 20; i++) await dynamodb.send(new ListTablesCommand({ Limit: 1 }))
  t.equal(injected, 0, 'rate 0: nothing injected')
})
