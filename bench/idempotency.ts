import { PutItemCommand } from '@aws-sdk/client-dynamodb'
import { marshall } from '@aws-sdk/util-dynamodb'
import { newPayment } from '../src/store/payments.js'
import { BENCH_KEY, benchApp, benchConfig, percentile, printTable, sample } from './lib.js'

// M7: what idempotency costs. Create with a fresh key vs a plain conditional PutItem of the
// same payment item (the least a create can do), and a replay vs the first create.
const RUNS = Number(process.env.BENCH_RUNS ?? 300)
const WARMUP = 20
const body = { amount: 1999, currency: 'EUR', customerId: 'cus_bench', description: 'bench', metadata: { order: '1' } }
const headers = (key: string) => ({ authorization: `Bearer ${BENCH_KEY}`, 'idempotency-key': key, 'content-type': 'application/json' })

const config = benchConfig('idem')
const { app, deps } = await benchApp(config)
const payload = JSON.stringify(body)

const create = await sample(RUNS, WARMUP, async (i) => {
  const response = await app.inject({ method: 'POST', url: '/v1/payments', headers: headers(`create-${i}`), payload })
  if (response.statusCode !== 201) throw new Error(`create answered ${response.statusCode}`)
})

const replayWarm = await sample(RUNS, WARMUP, async () => {
  const response = await app.inject({ method: 'POST', url: '/v1/payments', headers: headers('create-0'), payload })
  if (response.headers['idempotent-replayed'] !== 'true') throw new Error('not a replay')
})

// Another instance (empty in-memory cache) replaying keys the first one created.
const { app: other } = await benchApp({ ...config })
const replayOther = await sample(RUNS, 0, async (i) => {
  const response = await other.inject({ method: 'POST', url: '/v1/payments', headers: headers(`create-${i}`), payload })
  if (response.headers['idempotent-replayed'] !== 'true') throw new Error('not a replay')
})

const plainPut = await sample(RUNS, WARMUP, async () => {
  const payment = newPayment(deps.ids(), body, deps.clock())
  await deps.dynamodb.send(new PutItemCommand({
    TableName: config.tableName,
    Item: marshall({ pk: `PAYMENT#${payment.id}`, sk: 'PAYMENT', gsi1pk: `CUSTOMER#${payment.customerId}`, gsi1sk: `${payment.createdAt}#${payment.id}`, ...payment }),
    ConditionExpression: 'attribute_not_exists(pk)'
  }))
})

await Promise.all([app.close(), other.close()])

const ms = (value: number) => value.toFixed(2)
const row = (name: string, values: number[]) => [name, ms(percentile(values, 50)), ms(percentile(values, 99))]
console.log(`\nM7 idempotent create and replay (${RUNS} runs each, local emulator at ${config.aws.endpoint})\n`)
printTable(['operation', 'p50 ms', 'p99 ms'], [
  row('plain conditional PutItem (baseline)', plainPut),
  row('create, fresh key (POST /v1/payments)', create),
  row('replay, same instance (cached)', replayWarm),
  row('replay, another instance (DynamoDB read)', replayOther)
])
const ratio = (a: number[], b: number[]) => (percentile(a, 50) / percentile(b, 50)).toFixed(2)
console.log()
printTable(['ratio (p50)', 'value', 'target'], [
  ['create ÷ plain put', ratio(create, plainPut), '≤ 1.3'],
  ['replay (cached) ÷ create', ratio(replayWarm, create), '≤ 0.5'],
  ['replay (another instance) ÷ create', ratio(replayOther, create), '—']
])
