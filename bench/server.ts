import { GetItemCommand } from '@aws-sdk/client-dynamodb'
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb'
import autocannon from 'autocannon'
import Fastify from 'fastify'
import { Keys } from '../src/store/table.js'
import { BENCH_KEY, benchService, benchConfig, median, ratioOf, type BenchRow } from './lib.js'

// M8: requests per second of the local server for GET /v1/payments/{id} (auth, validation,
// GetItem, response schema) against a bare Fastify route doing the same GetItem. autocannon
// runs in this process against loopback, one server at a time.
const SECONDS = Number(process.env.BENCH_SERVER_SECONDS ?? 2)
const ROUNDS = 4

async function requestsPerSecond (url: string, headers: Record<string, string>): Promise<number> {
  const result = await autocannon({ url, connections: 10, duration: SECONDS, headers })
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`)
  return result.requests.average
}

/** Runs M8. */
export async function run (): Promise<BenchRow[]> {
  const config = benchConfig('server')
  const { app, deps } = await benchService(config)
  const created = await app.inject({ method: 'POST', url: '/v1/payments', headers: { authorization: `Bearer ${BENCH_KEY}`, 'idempotency-key': 'server-bench' }, payload: { amount: 1000, currency: 'EUR', customerId: 'cus_bench' } })
  const id = created.json().id as string
  const ours = await app.listen({ port: 0, host: '127.0.0.1' })

  const bare = Fastify()
  bare.get('/p/:id', async (request) => {
    const { Item } = await deps.dynamodb.send(new GetItemCommand({ TableName: config.tableName, Key: marshall(Keys.payment((request.params as { id: string }).id)), ConsistentRead: true }))
    return Item === undefined ? {} : unmarshall(Item)
  })
  const bareUrl = await bare.listen({ port: 0, host: '127.0.0.1' })

  // Alternate short rounds so that warm-up and the emulator's own drift fall on both alike.
  const oursRounds: number[] = []
  const bareRounds: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    oursRounds.push(await requestsPerSecond(`${ours}/v1/payments/${id}`, { authorization: `Bearer ${BENCH_KEY}` }))
    bareRounds.push(await requestsPerSecond(`${bareUrl}/p/${id}`, {}))
  }
  const oursRps = median(oursRounds.slice(1))
  const bareRps = median(bareRounds.slice(1))
  await Promise.all([app.close(), bare.close()])
  return [{ metric: 'M8 local server GET /v1/payments/{id}', ours: `${oursRps.toFixed(0)} req/s`, baseline: `bare Fastify + GetItem: ${bareRps.toFixed(0)} req/s`, ratio: ratioOf(oursRps, bareRps), target: '≥ 0.9' }]
}
