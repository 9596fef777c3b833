import { SQSClient } from '@aws-sdk/client-sqs'
import t from 'tap'
import { lazyClient } from '../../src/aws/clients.js'
import { createDeps } from '../../src/deps.js'
import { bearer, build, testConfig } from '../helpers/build.js'

t.test('a lazy client is built once, on its first use, however many uses wait for it', async (t) => {
  let builds = 0
  const client = lazyClient(async () => ({ n: ++builds }))
  t.equal(builds, 0, 'nothing is built before the first use')
  const [a, b] = await Promise.all([client(), client()])
  t.equal(builds, 1)
  t.equal(a, b, 'every use gets the same client')
  t.equal(await client(), a)
})

t.test('onCreate runs on the client when it is built, or at once if it is already', async (t) => {
  const client = lazyClient(async () => ({ name: 'the client' }))
  const seen: string[] = []
  client.onCreate((made) => seen.push(`before: ${made.name}`))
  t.same(seen, [], 'not before the first use')
  await client()
  client.onCreate((made) => seen.push(`after: ${made.name}`))
  t.same(seen, ['before: the client', 'after: the client'])
})

t.test('a failed build is tried again on the next use, not kept', async (t) => {
  let calls = 0
  const client = lazyClient(async () => {
    if (++calls === 1) throw new Error('the SDK could not be loaded')
    return { calls }
  })
  await t.rejects(client(), { message: 'the SDK could not be loaded' })
  t.same(await client(), { calls: 2 })
})

t.test('deps built from the configuration alone build the SQS client on its first use', async (t) => {
  const config = await testConfig(t.name)
  const deps = createDeps(config)
  t.teardown(() => deps.dynamodb.destroy())
  let built: SQSClient | undefined
  deps.sqs.onCreate((client) => { built = client })
  t.equal(built, undefined, 'not when the deps are built')
  const sqs = await deps.sqs()
  t.teardown(() => sqs.destroy())
  t.ok(sqs instanceof SQSClient)
  t.equal(built, sqs)
  t.equal(await sqs.config.region(), config.aws.region)
})

t.test('HTTP requests never ask for the SQS client; a worker\'s first send does', async (t) => {
  const built = await build(t)
  let asked = false
  built.deps.sqs.onCreate(() => { asked = true })
  await built.app.ready()
  t.equal((await built.app.inject({ method: 'GET', url: '/v1/payments/pay_01JDQ3V0J6Q8ZC7W8E5T0R2N4M', headers: bearer('read') })).statusCode, 404)
  const create = await built.app.inject({ method: 'POST', url: '/v1/payments', headers: { ...bearer('write'), 'idempotency-key': 'clients-test-1' }, payload: { amount: 1000, currency: 'EUR', customerId: 'cus_clients' } })
  t.equal(create.statusCode, 201)
  t.notOk(asked, 'not after a GET and a create')
  await built.deps.workQueue.send({ type: 'charge', paymentId: create.json().id })
  t.ok(asked, 'the first send builds it')
})
