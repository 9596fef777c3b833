import { randomUUID } from 'node:crypto'
import { PutItemCommand, QueryCommand, UpdateItemCommand, type AttributeValue, type ConsumedCapacity } from '@aws-sdk/client-dynamodb'
import { marshall } from '@aws-sdk/util-dynamodb'
import { TABLE } from '../src/aws/resources.js'
import { newIdempotencyRecord } from '../src/domain/idempotency.js'
import { newPayment } from '../src/store/payments.js'
import { Keys, UNSETTLED_SHARDS, toItem, unsettledPartition, unsettledShard } from '../src/store/table.js'
import { benchConfig, benchService, type BenchRow } from './lib.js'

// M10: how the unsettled index spreads one day's writes. 2,000 payments are created through the
// store (the same transaction as POST /v1/payments) on one day, then each shard of that day is
// counted in GSI3 itself: the busiest partition key's share against one key per day (GSI2 before,
// which took them all). DynamoDB is DynamoDB Local; the figure is where the items land, not a speed.
// M10b: what one payment's entry costs the index to write (the write units DynamoDB reports per
// index), for the largest payment the API takes (20 metadata values and a description of 500
// characters each), on its create and on a status change: GSI3 against GSI2's whole-item entry.
const PAYMENTS = 2_000
const CONCURRENCY = 10
const DAY = '2026-11-27'
const HASHED_IDS = 100_000

/** Runs M10. */
export async function run (): Promise<BenchRow[]> {
  const config = benchConfig('shards')
  const { deps } = await benchService(config)
  let next = 0
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < PAYMENTS) {
      const i = next++
      const payment = newPayment(deps.ids(), { amount: 1999, currency: 'EUR', customerId: `cus_bench_${i % 100}` }, new Date(Date.parse(`${DAY}T00:00:00.000Z`) + i * 40_000))
      const record = newIdempotencyRecord({ scope: 'bench', key: randomUUID(), fingerprint: 'f' }, { resourceId: payment.id, statusCode: 201, body: '{}' }, deps.clock(), 86_400)
      const outcome = await deps.payments.createIdempotently(payment, record)
      if (!outcome.created) throw new Error(`payment ${payment.id} was not created`)
    }
  }))

  const counts: number[] = []
  for (let shard = 0; shard < UNSETTLED_SHARDS; shard++) {
    let count = 0
    let startKey: Record<string, AttributeValue> | undefined
    do {
      const page = await deps.dynamodb.send(new QueryCommand({
        TableName: config.tableName,
        IndexName: TABLE.gsi3.name,
        KeyConditionExpression: '#pk = :partition',
        ExpressionAttributeNames: { '#pk': TABLE.gsi3.partitionKey },
        ExpressionAttributeValues: { ':partition': { S: unsettledPartition(DAY, shard) } },
        Select: 'COUNT',
        ExclusiveStartKey: startKey
      }))
      count += page.Count ?? 0
      startKey = page.LastEvaluatedKey
    } while (startKey !== undefined)
    counts.push(count)
  }
  const total = counts.reduce((sum, count) => sum + count, 0)
  if (total !== PAYMENTS) throw new Error(`${total} entries in the unsettled index for ${PAYMENTS} payments`)
  const mean = total / UNSETTLED_SHARDS
  const max = Math.max(...counts)
  const min = Math.min(...counts)
  const percent = (count: number) => `${((100 * count) / total).toFixed(1)} %`
  console.error(`bench shards: ${PAYMENTS} payments of ${DAY} per shard: ${counts.join(' ')}`)
  // The hash alone, on more ids than the emulator could store quickly: how even it is with the noise of a small sample gone.
  const hashed = new Array<number>(UNSETTLED_SHARDS).fill(0)
  for (let i = 0; i < HASHED_IDS; i++) {
    const shard = unsettledShard(deps.ids())
    hashed[shard] = (hashed[shard] ?? 0) + 1
  }
  const hashedMaxOverMean = Math.max(...hashed) / (HASHED_IDS / UNSETTLED_SHARDS)
  const [units, unitsBefore] = await indexWriteUnits(config.tableName, deps)
  return [{
    metric: `M10 unsettled index: busiest partition key's share of ${PAYMENTS.toLocaleString('en')} creates of one day`,
    ours: `${UNSETTLED_SHARDS} shards: ${percent(max)} (max/mean ${(max / mean).toFixed(2)}, min/mean ${(min / mean).toFixed(2)}; the hash alone over ${HASHED_IDS.toLocaleString('en')} ids: max/mean ${hashedMaxOverMean.toFixed(2)})`,
    baseline: 'one key per day: 100 %',
    ratio: (max / total).toFixed(2),
    target: 'max/mean ≤ 1.25'
  }, {
    metric: 'M10b unsettled index write units, create + status change of the largest payment (11 KB)',
    ours: `GSI3 (${TABLE.gsi3.projection.length} attributes): ${units.join(' + ')}`,
    baseline: `GSI2 (whole item): ${unitsBefore.join(' + ')}`,
    ratio: (sum(units) / sum(unitsBefore)).toFixed(2),
    target: '—'
  }]
}

const sum = (values: number[]): number => values.reduce((total, value) => total + value, 0)

/** The write units the unsettled index takes for a create and a status change of a large payment: GSI3's, then GSI2's as before. */
async function indexWriteUnits (tableName: string, deps: Awaited<ReturnType<typeof benchService>>['deps']): Promise<[number[], number[]]> {
  const metadata = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`key${String(i).padStart(2, '0')}`, 'x'.repeat(500)]))
  const measure = async (index: string, keys: (payment: ReturnType<typeof newPayment>) => Record<string, string>): Promise<number[]> => {
    const payment = newPayment(deps.ids(), { amount: 1999, currency: 'EUR', customerId: 'cus_bench_large', metadata, description: 'd'.repeat(500) }, new Date(`${DAY}T12:00:00.000Z`))
    const unitsOf = (capacity: ConsumedCapacity | undefined) => capacity?.GlobalSecondaryIndexes?.[index]?.CapacityUnits ?? Number.NaN
    const created = await deps.dynamodb.send(new PutItemCommand({
      TableName: tableName,
      Item: toItem({ ...Keys.payment(payment.id), ...Keys.paymentByCustomer(payment.customerId, payment.createdAt, payment.id), ...keys(payment) }, payment),
      ReturnConsumedCapacity: 'INDEXES'
    }))
    const moved = await deps.dynamodb.send(new UpdateItemCommand({
      TableName: tableName,
      Key: marshall(Keys.payment(payment.id)),
      UpdateExpression: 'SET #status = :processing, version = :version, updatedAt = :at',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: marshall({ ':processing': 'processing', ':version': 2, ':at': new Date().toISOString() }),
      ReturnConsumedCapacity: 'INDEXES'
    }))
    return [unitsOf(created.ConsumedCapacity), unitsOf(moved.ConsumedCapacity)]
  }
  return [
    await measure(TABLE.gsi3.name, (payment) => Keys.unsettledPayment(payment.createdAt, payment.id)),
    await measure(TABLE.gsi2.name, (payment) => ({ [TABLE.gsi2.partitionKey]: `UNSETTLED#${DAY}`, [TABLE.gsi2.sortKey]: `${payment.createdAt}#${payment.id}` }))
  ]
}
