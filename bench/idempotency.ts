import { PutItemCommand, TransactWriteItemsCommand, type AttributeValue } from '@aws-sdk/client-dynamodb'
import type { Payment } from '../src/domain/payment.js'
import { newPayment, newPaymentItems } from '../src/store/payments.js'
import { Keys, toItem } from '../src/store/table.js'
import { BENCH_KEY, benchService, benchConfig, interleave, percentile, printTable, type BenchRow } from './lib.js'

// M7: what idempotency costs. A create with a fresh key against a plain conditional PutItem
// of the same payment item (the least a create could do), and against the bare three-item
// transaction a create needs for atomicity; a replay against the first create. The operations
// run interleaved, so warm-up and background noise fall on all of them alike, and the create
// and the bare transaction take turns at going first.
const RUNS = Number(process.env.BENCH_RUNS ?? 300)
const WARMUP = 50
const body = { amount: 1999, currency: 'EUR', customerId: 'cus_bench', description: 'bench', metadata: { order: '1' } }
const payload = JSON.stringify(body)
const headers = (key: string) => ({ authorization: `Bearer ${BENCH_KEY}`, 'idempotency-key': key, 'content-type': 'application/json' })

/** Runs M7, printing its detail table. */
export async function run (): Promise<BenchRow[]> {
  const config = benchConfig('idem')
  const { app, deps } = await benchService(config)
  // A second instance of the function: its in-memory cache is empty, so its replays read DynamoDB.
  const { app: other } = await benchService({ ...config })
  const createdPayment = () => newPayment(deps.ids(), body, deps.clock())
  // The payment item as a create writes it (its keys, the customer listing, the listing of every
  // payment, the unsettled index), built by the store itself so that the two cannot drift apart.
  const paymentItem = (payment: Payment) => newPaymentItems(payment).payment
  const put = (item: Record<string, AttributeValue>) => ({ Put: { TableName: config.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' } })

  const bareTransaction = async (i: number) => {
    // The payment and its first history event as a create writes them, and a small stand-in
    // for the key's record: what the record holds (the answer, the fingerprint, the expiry)
    // and its condition are what idempotency costs, so they stay on the create's side.
    const { payment, event } = newPaymentItems(createdPayment())
    await deps.dynamodb.send(new TransactWriteItemsCommand({
      TransactItems: [put(toItem(Keys.idempotency('bench', `bare-${i}`), { body: payload })), put(payment), put(event)]
    }))
  }
  const create = async (i: number) => {
    const response = await app.inject({ method: 'POST', url: '/v1/payments', headers: headers(`create-${i}`), payload })
    if (response.statusCode !== 201) throw new Error(`create answered ${response.statusCode}`)
  }
  // The two M7a compares take turns at going first: an operation right after a transaction
  // starts while DynamoDB Local still finishes that one (its index entries, its stream record),
  // and pays for it (0.1-0.3 ms here), so a fixed order would charge it to one side only.
  const run = await interleave(RUNS, WARMUP, {
    plainPut: async () => {
      await deps.dynamodb.send(new PutItemCommand(put(paymentItem(createdPayment())).Put))
    },
    first: async (i) => { await (i % 2 === 0 ? bareTransaction(i) : create(i)) },
    second: async (i) => { await (i % 2 === 0 ? create(i) : bareTransaction(i)) },
    replayCached: async (i) => {
      const response = await app.inject({ method: 'POST', url: '/v1/payments', headers: headers(`create-${i}`), payload })
      if (response.headers['idempotent-replayed'] !== 'true') throw new Error('not a replay')
    },
    replayOtherInstance: async (i) => {
      const response = await other.inject({ method: 'POST', url: '/v1/payments', headers: headers(`create-${i}`), payload })
      if (response.headers['idempotent-replayed'] !== 'true') throw new Error('not a replay')
    }
  })
  const inTurn = (even: number[], odd: number[]) => even.map((value, j) => j % 2 === 0 ? value : odd[j] ?? value)
  const timings = { ...run, bareTransaction: inTurn(run.first, run.second), create: inTurn(run.second, run.first) }
  await Promise.all([app.close(), other.close()])

  const ms = (values: number[], p: number) => percentile(values, p).toFixed(2)
  const row = (name: string, values: number[]) => [name, ms(values, 50), ms(values, 99)]
  const ratio = (a: number[], b: number[]) => (percentile(a, 50) / percentile(b, 50)).toFixed(2)
  console.log(`\nM7 idempotent create and replay: ${RUNS} interleaved runs after ${WARMUP} warm-up; DynamoDB at ${config.aws.dynamodbEndpoint ?? config.aws.endpoint}\n`)
  printTable(['operation', 'p50 ms', 'p99 ms'], [
    row('plain conditional PutItem (baseline)', timings.plainPut),
    row('bare 3-item TransactWriteItems', timings.bareTransaction),
    row('create, fresh key (POST /v1/payments)', timings.create),
    row('replay, same instance (cached)', timings.replayCached),
    row('replay, another instance (reads DynamoDB)', timings.replayOtherInstance)
  ])
  console.log()
  printTable(['ratio of p50s', 'value', 'target'], [
    ['create ÷ plain put', ratio(timings.create, timings.plainPut), '—'],
    ['create ÷ bare transaction', ratio(timings.create, timings.bareTransaction), '≤ 1.15'],
    ['replay (cached) ÷ create', ratio(timings.replayCached, timings.create), '≤ 0.5'],
    ['replay (another instance) ÷ create', ratio(timings.replayOtherInstance, timings.create), '—']
  ])
  const p50 = (values: number[]) => `${percentile(values, 50).toFixed(2)} ms`
  return [
    { metric: 'M7a idempotent create p50', ours: p50(timings.create), baseline: `bare 3-item transaction: ${p50(timings.bareTransaction)} (conditional put: ${p50(timings.plainPut)})`, ratio: ratio(timings.create, timings.bareTransaction), target: '≤ 1.15' },
    { metric: 'M7b replay p50 (same instance)', ours: p50(timings.replayCached), baseline: `first create: ${p50(timings.create)}`, ratio: ratio(timings.replayCached, timings.create), target: '≤ 0.5' }
  ]
}
