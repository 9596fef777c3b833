import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { QueryCommand } from '@aws-sdk/client-dynamodb'
import type { Context } from 'aws-lambda'
import t from 'tap'
import pino from 'pino'
import { s3ClientOptions } from '../../src/aws/s3.js'
import type { SettlementContinuation } from '../../src/queue/settlement-continuations.js'
import { createSettlementWorker } from '../../src/workers/settlement.js'
import type { Settlement, SettlementStore } from '../../src/store/settlements.js'
import { SETTLEMENT_SEEN_SHARDS } from '../../src/store/table.js'
import type { SqsWorker } from '../../src/workers/types.js'
import { build, type Built, type Teardownable } from '../helpers/build.js'
import { sqsEvent } from '../helpers/events.js'

const HEADER = 'paymentId,providerRef,type,amount,currency,settledAt,fee'
const DISTINCT = 48

/** A context whose time runs out after `rows` checks (see settlement-continuation.test.ts): `rows + 1` rows an invocation. */
function budget (rows: number): Context {
  let checks = 0
  return { awsRequestId: 'test', getRemainingTimeInMillis: () => (checks++ <= rows ? 60_000 : 0) } as unknown as Context
}

/** 48 distinct rows (payments paylith does not know), then the same 48 again: 48 duplicates, each of a row read runs before. */
function file (): string {
  const rows = Array.from({ length: DISTINCT }, (_, index) => `pay_01JSHARD${String(index).padStart(17, '0')},,charge,${100 + index},EUR,,1`)
  return [HEADER, ...rows, ...rows].join('\n') + '\n'
}

interface Setup extends Built {
  sent: SettlementContinuation[]
  worker: (settlements?: SettlementStore) => SqsWorker
  notify: (key: string) => Promise<string>
}

async function setUp (t: Teardownable): Promise<Setup> {
  const built = await build(t)
  const s3 = new S3Client(s3ClientOptions(built.config))
  t.teardown(() => s3.destroy())
  const sent: SettlementContinuation[] = []
  let n = 0
  const worker = (settlements: SettlementStore = built.deps.settlements): SqsWorker => createSettlementWorker({
    files: built.deps.settlementFiles,
    settlements,
    continueLater: async (continuation) => { sent.push({ type: 'settlement-continuation', ...continuation }) },
    newId: () => `stl_01JSHARDS00000000000000000${n++}`,
    metrics: built.deps.metrics,
    logger: pino({ level: 'silent' }),
    clock: () => new Date()
  }, { lookupBatch: 5, concurrency: 2, safetyMarginMs: 1_000 })
  const notify = async (key: string): Promise<string> => {
    const bucket = built.config.settlements.bucketName
    const { ETag } = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: file() }))
    return JSON.stringify({ Records: [{ s3: { bucket: { name: bucket }, object: { key, eTag: (ETag ?? '').replaceAll('"', '') } } }] })
  }
  return { ...built, sent, worker, notify }
}

/** How many seen-row marks each partition of the settlement holds, by partition key. */
async function marksByPartition (built: Built, settlementId: string): Promise<Map<string, number>> {
  const partitions = [`SETTLEMENT#${settlementId}`, ...Array.from({ length: SETTLEMENT_SEEN_SHARDS }, (_, shard) => `SETTLEMENT#${settlementId}#SEEN#${String(shard).padStart(2, '0')}`)]
  const counts = new Map<string, number>()
  for (const pk of partitions) {
    const { Count = 0 } = await built.deps.dynamodb.send(new QueryCommand({
      TableName: built.config.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :seen)',
      ExpressionAttributeValues: { ':pk': { S: pk }, ':seen': { S: 'SEEN#' } },
      Select: 'COUNT'
    }))
    if (Count > 0) counts.set(pk, Count)
  }
  return counts
}

/** Delivers every continuation sent so far (and those they send), each in an invocation with the budget. */
async function drain (setup: Setup, worker: SqsWorker, rowsPerRun: number): Promise<void> {
  for (let delivered = 0; setup.sent.length > delivered; delivered++) {
    await worker(sqsEvent(setup.resources.settlements.queue.name, [JSON.stringify(setup.sent[delivered])]), budget(rowsPerRun))
  }
}

const EXPECTED = { status: 'completed', rowsProcessed: 2 * DISTINCT, counts: { unknown_payment: DISTINCT, duplicate_row: DISTINCT, matched: 0 } }

t.test('seen-row marks are spread over the shards, and duplicates are found across them, across continuations and redeliveries', async (t) => {
  const setup = await setUp(t)
  const queue = setup.resources.settlements.queue.name
  const worker = setup.worker()
  const original = await setup.notify('settlements/generic/sharded.csv')
  t.same(await worker(sqsEvent(queue, [original]), budget(9)), { batchItemFailures: [] })
  await drain(setup, worker, 9)
  t.ok(setup.sent.length >= 9, `continued ${setup.sent.length} times`)

  const id = 'stl_01JSHARDS000000000000000000'
  const settlement = await setup.deps.settlements.get(id)
  t.match(settlement, { ...EXPECTED, seenShards: SETTLEMENT_SEEN_SHARDS })
  const marks = await marksByPartition(setup, id)
  t.equal([...marks.values()].reduce((sum, count) => sum + count, 0), DISTINCT, 'one mark per distinct row')
  t.notOk(marks.has(`SETTLEMENT#${id}`), 'none under the settlement\'s own key')
  t.ok(marks.size >= 12, `48 marks over ${marks.size} of the ${SETTLEMENT_SEEN_SHARDS} partitions`)
  t.ok(Math.max(...marks.values()) <= 10, 'none holds most of them')

  // Every message again, the original and each continuation: nothing moves, nothing is counted twice.
  const sentBefore = setup.sent.length
  await worker(sqsEvent(queue, [original]), budget(9))
  for (const continuation of [...setup.sent]) await worker(sqsEvent(queue, [JSON.stringify(continuation)]), budget(9))
  t.same(await setup.deps.settlements.get(id), settlement, 'the settlement is as it was')
  t.equal(setup.sent.length, sentBefore, 'nothing more is sent')
})

t.test('a second pass over the same rows (a redelivered run) finds its own marks and counts no duplicate', async (t) => {
  const setup = await setUp(t)
  const queue = setup.resources.settlements.queue.name
  const original = await setup.notify('settlements/generic/retried.csv')
  let fail = true
  // The first try writes every mark of its first rows, then fails before saving: its retry reads the same rows again.
  const failing: SettlementStore = {
    ...setup.deps.settlements,
    saveIfRun: async (settlement, run) => {
      if (fail) {
        fail = false
        throw new Error('DynamoDB is down (injected by the test)')
      }
      return setup.deps.settlements.saveIfRun(settlement, run)
    }
  }
  const worker = setup.worker(failing)
  t.equal((await worker(sqsEvent(queue, [original]), budget(1_000))).batchItemFailures.length, 1, 'the first try fails at its end')
  t.same(await worker(sqsEvent(queue, [original]), budget(1_000)), { batchItemFailures: [] })
  t.match(await setup.deps.settlements.get('stl_01JSHARDS000000000000000000'), EXPECTED)
})

t.test('a settlement started before the marks were sharded goes on in its own partition, still finding its duplicates', async (t) => {
  const setup = await setUp(t)
  const queue = setup.resources.settlements.queue.name
  // The first run as the code before: every mark in the settlement's own partition, whatever the shards asked.
  const unsharded: SettlementStore = {
    ...setup.deps.settlements,
    seenRows: async (id, hashes) => setup.deps.settlements.seenRows(id, hashes),
    putSeenRows: async (id, rows, expiresAt) => setup.deps.settlements.putSeenRows(id, rows, expiresAt)
  }
  await setup.worker(unsharded)(sqsEvent(queue, [await setup.notify('settlements/generic/before.csv')]), budget(DISTINCT + 4))
  const id = 'stl_01JSHARDS000000000000000000'
  const checkpointed = await setup.deps.settlements.get(id) as Settlement
  t.match(checkpointed, { run: 1, rowsProcessed: DISTINCT + 5 })
  const { seenShards: _seenShards, ...stored } = checkpointed
  await setup.deps.settlements.save(stored)

  // The rest with this code: the settlement says nothing of shards, so its marks are read where they are.
  await drain(setup, setup.worker(), 9)
  t.match(await setup.deps.settlements.get(id), EXPECTED)
  t.same([...(await marksByPartition(setup, id)).keys()], [`SETTLEMENT#${id}`], 'every mark in its own partition')
})
