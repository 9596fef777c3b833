import { randomUUID } from 'node:crypto'
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb'
import { PurgeQueueCommand } from '@aws-sdk/client-sqs'
import { DescribeStreamCommand, DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-dynamodb-streams'
import type { DynamoDBRecord } from 'aws-lambda'
import pLimit from 'p-limit'
import { clientOptions } from '../src/aws/clients.js'
import { newIdempotencyRecord } from '../src/domain/idempotency.js'
import type { Deps } from '../src/deps.js'
import { toLambdaRecord } from '../src/aws/stream-records.js'
import { newPayment } from '../src/store/payments.js'
import { createWorkers } from '../src/workers/index.js'
import type { StreamWorker } from '../src/workers/types.js'
import { benchConfig, benchService, ratioOf, type BenchRow } from './lib.js'

// M9: stream relay throughput. A batch of N payment INSERT records, read from the table's
// stream as Lambda delivers them, through the production table-stream worker (per record: the
// charge command sent to SQS, on moto; the customer summary counted, on DynamoDB Local) at
// STREAM_CONCURRENCY=1 (the serial worker, record after record) and at the default, interleaved
// in one run. Each run gets payments of its own, of the same shape, so neither side meets
// summaries the other already counted, and starts on an empty work queue (moto's SendMessage
// slows down as its queue grows; in production the queue is drained as it fills). Then the two
// calls a record costs, each alone at 1 and at STREAM_CONCURRENCY in flight: what the emulators
// let concurrency gain.
const RECORDS = Number(process.env.BENCH_STREAM_RECORDS ?? 500)
const RUNS = 3
const WARMUP = 1
/** Payments spread over this many customers, so summaries are shared as in real traffic. */
const CUSTOMERS = 50
/** Calls per side when each call is measured alone. */
const CALLS = 200

/**
 * Like `interleave`, but with `prepare` before each operation, outside its time: run i of
 * every operation before run i + 1 of any. Returns each operation's durations in milliseconds.
 */
async function interleavePrepared<K extends string> (prepare: () => Promise<unknown>, operations: Record<K, (i: number) => Promise<unknown>>): Promise<Record<K, number[]>> {
  const names = Object.keys(operations) as K[]
  const timings = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<K, number[]>
  for (let i = -WARMUP; i < RUNS; i++) {
    for (const name of names) {
      await prepare()
      const start = performance.now()
      await operations[name](i)
      if (i >= 0) timings[name].push(performance.now() - start)
    }
  }
  return timings
}

/** Stores `count` new pending payments the way the create route does; returns their ids. */
async function storePayments (deps: Deps, count: number, offset: number): Promise<Set<string>> {
  const limit = pLimit(20)
  const ids = await Promise.all(Array.from({ length: count }, (_, i) => limit(async () => {
    const payment = newPayment(deps.ids(), { amount: 1000 + (i % 50), currency: 'EUR', customerId: `cus_bench_${(offset + i) % CUSTOMERS}` }, deps.clock())
    const record = newIdempotencyRecord({ scope: 'bench', key: randomUUID(), fingerprint: 'f' }, { resourceId: payment.id, statusCode: 201, body: '{}' }, deps.clock(), 86_400)
    await deps.payments.createIdempotently(payment, record)
    return payment.id
  })))
  return new Set(ids)
}

/** Every record of the table's stream so far, shard by shard, as Lambda delivers them. */
async function streamRecords (deps: Deps, streamArn: string): Promise<DynamoDBRecord[]> {
  const streams = new DynamoDBStreamsClient(clientOptions(deps.config, 'dynamodb'))
  const records: DynamoDBRecord[] = []
  const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }))
  for (const shard of StreamDescription?.Shards ?? []) {
    let iterator = (await streams.send(new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator
    while (iterator !== undefined) {
      const response = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }))
      const read = response.Records ?? []
      records.push(...read.map((record) => toLambdaRecord(record, { streamArn, region: deps.config.aws.region })))
      iterator = read.length === 0 ? undefined : response.NextShardIterator
    }
  }
  streams.destroy()
  return records
}

/** The production table-stream worker at a given STREAM_CONCURRENCY. */
function streamWorker (deps: Deps, streamConcurrency: number): StreamWorker {
  const worker = createWorkers({ ...deps, config: { ...deps.config, streamConcurrency } }).streams[deps.config.tableName]
  if (worker === undefined) throw new Error('no table-stream worker')
  return worker
}

/** Runs M9. */
export async function run (): Promise<BenchRow[]> {
  const config = benchConfig('stream')
  const { app, deps } = await benchService(config)
  const concurrency = config.streamConcurrency
  const workers = { serial: streamWorker(deps, 1), concurrent: streamWorker(deps, concurrency) }
  const context = { awsRequestId: 'bench', getRemainingTimeInMillis: () => 900_000 } as never

  // One batch per run and side: that run's payments' INSERTs, in stream order.
  const sides = ['serial', 'concurrent'] as const
  const paymentsOf = new Map<string, Set<string>>()
  let offset = 0
  for (let i = -WARMUP; i < RUNS; i++) {
    for (const side of sides) {
      paymentsOf.set(`${side}${i}`, await storePayments(deps, RECORDS, offset))
      offset += RECORDS
    }
  }
  const { Table } = await deps.dynamodb.send(new DescribeTableCommand({ TableName: config.tableName }))
  const all = await streamRecords(deps, Table?.LatestStreamArn ?? '')
  const batchOf = (side: string, i: number): DynamoDBRecord[] => {
    const ids = paymentsOf.get(`${side}${i}`) ?? new Set()
    const batch = all.filter((record) => record.eventName === 'INSERT' && record.dynamodb?.Keys?.sk?.S === 'PAYMENT' && ids.has(record.dynamodb.Keys.pk?.S?.slice('PAYMENT#'.length) ?? ''))
    if (batch.length !== RECORDS) throw new Error(`expected ${RECORDS} INSERT records for ${side} run ${i}, read ${batch.length}`)
    return batch
  }
  const handle = async (side: typeof sides[number], i: number): Promise<void> => {
    const response = await workers[side]({ Records: batchOf(side, i) }, context)
    if (response.batchItemFailures.length > 0) throw new Error(`${side} run ${i}: the batch failed at ${JSON.stringify(response.batchItemFailures)}`)
  }

  const emptyQueue = async () => (await deps.sqs()).send(new PurgeQueueCommand({ QueueUrl: deps.config.queues.work.url }))
  const timings = await interleavePrepared(emptyQueue, { serial: (i) => handle('serial', i), concurrent: (i) => handle('concurrent', i) })

  // The record's two calls alone: the charge command's SendMessage, the summary's apply.
  let n = 0
  const send = () => deps.workQueue.send({ type: 'charge', paymentId: `pay_bench_send_${n++}` })
  const apply = () => deps.summaries.apply(newPayment(`pay_bench_apply_${n++}`, { amount: 1000, currency: 'EUR', customerId: `cus_bench_${n % CUSTOMERS}` }, deps.clock()))
  const calls = (fn: () => Promise<unknown>, inFlight: number) => async () => {
    const limit = pLimit(inFlight)
    await Promise.all(Array.from({ length: CALLS }, () => limit(fn)))
  }
  const alone = await interleavePrepared(emptyQueue, { send1: calls(send, 1), sendN: calls(send, concurrency), apply1: calls(apply, 1), applyN: calls(apply, concurrency) })
  await app.close()

  const best = (values: number[]) => Math.min(...values)
  const rate = (count: number, values: number[]) => count / (best(values) / 1000)
  const row = (metric: string, unit: string, count: number, ours: number[], baseline: number[], target: string): BenchRow => ({
    metric,
    ours: `${concurrency} in flight: ${rate(count, ours).toFixed(0)} ${unit}`,
    baseline: `1 in flight: ${rate(count, baseline).toFixed(0)} ${unit}`,
    ratio: ratioOf(rate(count, ours), rate(count, baseline)),
    target
  })
  return [
    row(`M9 stream relay: ${RECORDS} payment INSERTs through the table-stream worker, STREAM_CONCURRENCY ${concurrency} vs 1 (best of ${RUNS})`, 'records/s', RECORDS, timings.concurrent, timings.serial, '≥ 5'),
    row(`M9a its SQS SendMessage alone (moto), ${CALLS} calls`, 'calls/s', CALLS, alone.sendN, alone.send1, '—'),
    row(`M9b its summary apply alone (DynamoDB Local), ${CALLS} calls`, 'calls/s', CALLS, alone.applyN, alone.apply1, '—')
  ]
}
