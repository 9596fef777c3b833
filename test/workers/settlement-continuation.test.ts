import { gzipSync } from 'node:zlib'
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { QueryCommand } from '@aws-sdk/client-dynamodb'
import { unmarshall } from '@aws-sdk/util-dynamodb'
import type { Context } from 'aws-lambda'
import t, { type Test } from 'tap'
import pino from 'pino'
import { s3ClientOptions } from '../../src/aws/s3.js'
import { settlementContinuations, type SettlementContinuation } from '../../src/queue/settlement-continuations.js'
import { createSettlementWorker, type SettlementWorkerDeps } from '../../src/workers/settlement.js'
import type { Discrepancy, Settlement, SettlementStore } from '../../src/store/settlements.js'
import type { SqsWorker } from '../../src/workers/types.js'
import { build, type Built, type Teardownable } from '../helpers/build.js'
import { storePayment } from '../helpers/payments.js'
import { sqsEvent } from '../helpers/events.js'
import { waitFor } from '../helpers/wait.js'
import { pollSettlements } from '../helpers/settlements.js'

const HEADER = 'paymentId,providerRef,type,amount,currency,settledAt,fee'

/**
 * A Lambda context whose time runs out after `rows` checks: the worker asks once at the start of
 * a run and once a row (from its second), so each invocation reads `rows + 1` rows, then
 * checkpoints. A tiny time budget, without waiting for a clock.
 */
function budget (rows: number): Context {
  let checks = 0
  return { awsRequestId: 'test', getRemainingTimeInMillis: () => (checks++ <= rows ? 60_000 : 0) } as unknown as Context
}

interface Setup extends Built {
  put: (key: string, body: string | Buffer) => Promise<string>
  /** Continuations the worker sent, in order (captured instead of sent, so the test delivers them). */
  sent: SettlementContinuation[]
  /** The worker's deps with the real continuation sender. */
  workerDeps: SettlementWorkerDeps
  worker: (options?: { failSends?: number, settlements?: SettlementStore, progressEvery?: number }) => SqsWorker
}

async function setUp (t: Teardownable): Promise<Setup> {
  const built = await build(t)
  const s3 = new S3Client(s3ClientOptions(built.config))
  t.teardown(() => s3.destroy())
  const put = async (key: string, body: string | Buffer): Promise<string> => {
    const { ETag } = await s3.send(new PutObjectCommand({ Bucket: built.config.settlements.bucketName, Key: key, Body: body }))
    return (ETag ?? '').replaceAll('"', '')
  }
  const sent: SettlementContinuation[] = []
  let n = 0
  const newId = (): string => `stl_01JCONT000000000000000000${n++}`
  const worker = ({ failSends = 0, settlements = built.deps.settlements, progressEvery = 10_000 }: { failSends?: number, settlements?: SettlementStore, progressEvery?: number } = {}): SqsWorker => {
    let failures = failSends
    const deps: SettlementWorkerDeps = {
      files: built.deps.settlementFiles,
      settlements,
      continueLater: async (continuation) => {
        if (failures-- > 0) throw new Error('SQS is down (injected by the test)')
        sent.push({ type: 'settlement-continuation', ...continuation })
      },
      newId,
      metrics: built.deps.metrics,
      logger: pino({ level: 'silent' }),
      clock: () => new Date()
    }
    return createSettlementWorker(deps, { lookupBatch: 3, concurrency: 2, safetyMarginMs: 1_000, progressEvery })
  }
  const workerDeps: SettlementWorkerDeps = {
    files: built.deps.settlementFiles,
    settlements: built.deps.settlements,
    continueLater: settlementContinuations({ sqs: built.deps.sqs, url: built.config.settlements.queueUrl }),
    newId,
    metrics: built.deps.metrics,
    logger: pino({ level: 'silent' }),
    clock: () => new Date()
  }
  return { ...built, put, sent, worker, workerDeps }
}

function notification (bucket: string, key: string, etag: string): string {
  return JSON.stringify({ Records: [{ eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3: { bucket: { name: bucket }, object: { key: encodeURIComponent(key), eTag: etag } } }] })
}

async function discrepanciesOf (built: Built, settlementId: string): Promise<Array<Pick<Discrepancy, 'line' | 'classification'>>> {
  const { Items } = await built.deps.dynamodb.send(new QueryCommand({
    TableName: built.config.tableName,
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sk)',
    ExpressionAttributeValues: { ':pk': { S: `SETTLEMENT#${settlementId}` }, ':sk': { S: 'DISCREPANCY#' } }
  }))
  return (Items ?? []).map((item) => unmarshall(item) as Discrepancy).map(({ line, classification, reason }) => ({ line, classification, ...(reason !== undefined && { reason }) }))
}

/**
 * 40 rows of every classification; copies of earlier rows come rows (and runs) later (11 are
 * duplicates, 1 a copy of a malformed row, so malformed again), one row spans two lines.
 */
async function fileFor (built: Built): Promise<string> {
  const payments = []
  for (let index = 0; index < 8; index++) {
    payments.push(await built.deps.payments.transition(await storePayment(built.deps, { amount: 100 + index }), 'succeeded', { providerRef: `ch_ref_${index}` }))
  }
  const pending = await storePayment(built.deps, { amount: 999 })
  const rows: string[] = []
  for (let index = 0; index < 40; index++) {
    const payment = payments[index % 8]
    if (payment === undefined) throw new Error('unreachable')
    switch (index % 10) {
      case 0: rows.push(`${payment.id},,charge,${payment.amount},EUR,2026-11-27T10:00:${String(index).padStart(2, '0')}Z,3`); break
      case 1: rows.push(`,ch_ref_${index % 8},charge,${payment.amount},EUR,2026-11-27T11:00:${String(index).padStart(2, '0')}Z,3`); break
      case 2: rows.push(`${payment.id},,charge,${payment.amount + 1},EUR,2026-11-27T12:00:${String(index).padStart(2, '0')}Z,3`); break
      case 3: rows.push(`pay_01JUNKNOWN00000000000000${String(index).padStart(2, '0')},,charge,50,EUR,,1`); break
      case 4: rows.push(`${pending.id},"note,\nsecond line",charge,999,EUR,2026-11-27T13:00:${String(index).padStart(2, '0')}Z,9`); break
      case 5: rows.push(`${payment.id},,charge,ten,EUR,,0`); break
      case 6: rows.push(`${payment.id},,charge,${payment.amount},USD,2026-11-27T14:00:${String(index).padStart(2, '0')}Z,3`); break
      default: {
        // The same row as one of the first seven: a duplicate of a row read one or more runs before.
        const earlier = rows[index % 7]
        rows.push(earlier ?? '')
      }
    }
  }
  return [HEADER, ...rows].join('\n') + '\n'
}

/** The test file reconciled once in a single pass (settlement `…0000`): what a chain of runs of it must end as. */
async function reconciledOnce (t: Teardownable): Promise<{ setup: Setup, body: string, bucket: string, queue: string, worker: SqsWorker, single: Settlement | undefined }> {
  const setup = await setUp(t)
  const body = await fileFor(setup)
  const bucket = setup.config.settlements.bucketName
  const queue = setup.resources.settlements.queue.name
  const worker = setup.worker()
  const singleKey = 'settlements/generic/single.csv'
  await worker(sqsEvent(queue, [notification(bucket, singleKey, await setup.put(singleKey, body))]), budget(1_000))
  return { setup, body, bucket, queue, worker, single: await setup.deps.settlements.get('stl_01JCONT0000000000000000000') }
}

/** Delivers every continuation sent so far (and those they send), each in an invocation of its own with the budget. */
async function drain (t: Test, setup: Setup, worker: SqsWorker, rowsPerRun: number): Promise<number> {
  let delivered = 0
  while (setup.sent.length > delivered) {
    const continuation = setup.sent[delivered++]
    t.same(await worker(sqsEvent(setup.resources.settlements.queue.name, [JSON.stringify(continuation)]), budget(rowsPerRun)), { batchItemFailures: [] })
  }
  return delivered
}

/** What must be equal between two runs of the same file: everything but ids and times. */
function outcome (settlement: Settlement | undefined): Partial<Settlement> {
  const { status, rowsProcessed, counts, totals } = settlement ?? {} as Settlement
  return { status, rowsProcessed, counts, totals: [...totals].sort((a, b) => a.currency.localeCompare(b.currency)) }
}

for (const gzipped of [false, true]) {
  t.test(`a tiny time budget forces several checkpoints, and the counts equal a single pass (${gzipped ? 'gzipped: read again and skipped to the line' : 'plain: ranged GETs'})`, async (t) => {
    const setup = await setUp(t)
    const file = await fileFor(setup)
    const body = gzipped ? gzipSync(file) : file
    const bucket = setup.config.settlements.bucketName
    const suffix = gzipped ? '.csv.gz' : '.csv'
    const worker = setup.worker()

    const singleKey = `settlements/generic/single${suffix}`
    await worker(sqsEvent(setup.resources.settlements.queue.name, [notification(bucket, singleKey, await setup.put(singleKey, body))]), budget(1_000))
    t.equal(setup.sent.length, 0, 'one invocation was enough')
    const single = await setup.deps.settlements.get('stl_01JCONT0000000000000000000')

    const key = `settlements/generic/continued${suffix}`
    t.same(await worker(sqsEvent(setup.resources.settlements.queue.name, [notification(bucket, key, await setup.put(key, body))]), budget(7)), { batchItemFailures: [] })
    const first = await setup.deps.settlements.get('stl_01JCONT0000000000000000001')
    t.match(first, { status: 'processing', run: 1, rowsProcessed: 8, continued: 1, checkpoint: { columns: HEADER.split(',') } }, 'the first invocation read 8 rows and checkpointed')
    t.equal(first?.checkpoint?.offset === undefined, gzipped, gzipped ? 'no byte offset into a gzipped object' : 'the byte after the last row read')
    const continuations = await drain(t, setup, worker, 7)
    t.equal(continuations, 5, 'four continuations for 40 rows at 8 an invocation, and a fifth for the report: the fifth invocation\'s time ran out with its last row')
    t.same(setup.sent.map((c) => c.run), [1, 2, 3, 4, 5])

    const continued = await setup.deps.settlements.get('stl_01JCONT0000000000000000001')
    t.same(outcome(continued), outcome(single), 'the same status, rows, counts and totals')
    t.match(continued, { status: 'completed', rowsProcessed: 40, run: 5, counts: { matched: 8, amount_mismatch: 4, currency_mismatch: 4, status_mismatch: 4, unknown_payment: 4, duplicate_row: 11, malformed_row: 5 } })
    t.same(await discrepanciesOf(setup, 'stl_01JCONT0000000000000000001'), await discrepanciesOf(setup, 'stl_01JCONT0000000000000000000'), 'the same discrepancies, line by line')
  })
}

t.test('a continuation delivered again, during the chain or after it, changes nothing', async (t) => {
  const { setup, body, bucket, queue, worker, single } = await reconciledOnce(t)

  const key = 'settlements/generic/again.csv'
  const original = notification(bucket, key, await setup.put(key, body))
  await worker(sqsEvent(queue, [original]), budget(7))
  const firstContinuation = JSON.stringify(setup.sent[0])
  // Twice at once (a redelivery while the first is still running): both read the same rows; the conditional writes let one go on.
  await Promise.all([worker(sqsEvent(queue, [firstContinuation]), budget(7)), worker(sqsEvent(queue, [firstContinuation]), budget(7))])
  t.equal(setup.sent.length, 2, 'one continuation of run 2, not two')
  // The original notification and the first continuation again, after the chain moved on.
  await worker(sqsEvent(queue, [original]), budget(7))
  await worker(sqsEvent(queue, [firstContinuation]), budget(7))
  t.equal(setup.sent.length, 2, 'a stale message sends nothing: the continuation of the current run was sent')
  await drain(t, setup, worker, 7)
  const done = await setup.deps.settlements.get('stl_01JCONT0000000000000000001')
  t.same(outcome(done), outcome(single))

  const before = { settlement: done, discrepancies: await discrepanciesOf(setup, 'stl_01JCONT0000000000000000001') }
  const sentBefore = setup.sent.length
  for (const continuation of [...setup.sent]) await worker(sqsEvent(queue, [JSON.stringify(continuation)]), budget(7))
  await worker(sqsEvent(queue, [original]), budget(7))
  t.same(await setup.deps.settlements.get('stl_01JCONT0000000000000000001'), before.settlement, 'the completed settlement is left as it was')
  t.same(await discrepanciesOf(setup, 'stl_01JCONT0000000000000000001'), before.discrepancies)
  t.equal(setup.sent.length, sentBefore, 'and nothing more is sent')
})

t.test('a continuation whose try fails after saving progress is tried again from its checkpoint, counting nothing twice', async (t) => {
  const { setup, body, bucket, queue, worker, single } = await reconciledOnce(t)

  const key = 'settlements/generic/crashes.csv'
  await worker(sqsEvent(queue, [notification(bucket, key, await setup.put(key, body))]), budget(7))
  const continuation = JSON.stringify(setup.sent[0])
  let writes = 0
  const failing: SettlementStore = {
    ...setup.deps.settlements,
    putDiscrepancies: async (id, discrepancies) => {
      if (++writes > 4) throw new Error('DynamoDB is down (injected by the test)')
      await setup.deps.settlements.putDiscrepancies(id, discrepancies)
    }
  }
  const response = await setup.worker({ settlements: failing, progressEvery: 3 })(sqsEvent(queue, [continuation]), budget(1_000))
  t.equal(response.batchItemFailures.length, 1, 'the try fails')
  const cut = await setup.deps.settlements.get('stl_01JCONT0000000000000000001')
  t.match(cut, { status: 'processing', run: 1 })
  t.ok((cut?.rowsProcessed ?? 0) > 8, `its progress was saved past the checkpoint (${cut?.rowsProcessed ?? 0} rows)`)

  t.same(await worker(sqsEvent(queue, [continuation]), budget(1_000)), { batchItemFailures: [] }, 'the continuation comes back')
  t.same(outcome(await setup.deps.settlements.get('stl_01JCONT0000000000000000001')), outcome(single), 'counted from the checkpoint, not from the failed try\'s progress')
})

t.test('a continuation that could not be sent after its checkpoint is sent when the message comes back', async (t) => {
  const setup = await setUp(t)
  const body = await fileFor(setup)
  const bucket = setup.config.settlements.bucketName
  const queue = setup.resources.settlements.queue.name
  const key = 'settlements/generic/send-fails.csv'
  const original = notification(bucket, key, await setup.put(key, body))
  const failing = setup.worker({ failSends: 1 })
  const response = await failing(sqsEvent(queue, [original]), budget(7))
  t.equal(response.batchItemFailures.length, 1, 'the message fails, to come back')
  t.match(await setup.deps.settlements.get('stl_01JCONT0000000000000000000'), { run: 1, rowsProcessed: 8 }, 'the checkpoint was written')
  t.equal(setup.sent.length, 0)
  t.same(await failing(sqsEvent(queue, [original]), budget(7)), { batchItemFailures: [] })
  t.same(setup.sent.map((c) => c.run), [1], 'sent on the redelivery, without reading again')
  t.match(await setup.deps.settlements.get('stl_01JCONT0000000000000000000'), { run: 1, rowsProcessed: 8, continued: 1 })
  await drain(t, setup, failing, 7)
  t.match(await setup.deps.settlements.get('stl_01JCONT0000000000000000000'), { status: 'completed', rowsProcessed: 40, counts: { matched: 8, duplicate_row: 11 } })
})

t.test('a short invocation reads for half its time, not a row at a time, when the margin is longer than the invocation', async (t) => {
  const setup = await setUp(t)
  const body = await fileFor(setup)
  const key = 'settlements/generic/short.csv'
  const etag = await setup.put(key, body)
  const deps: SettlementWorkerDeps = { ...setup.workerDeps, newId: () => 'stl_01JCONTSHORT00000000000000' }
  const worker = createSettlementWorker(deps, { safetyMarginMs: 60_000 })
  const context = { awsRequestId: 'test', getRemainingTimeInMillis: () => 30_000 } as unknown as Context
  t.same(await worker(sqsEvent(setup.resources.settlements.queue.name, [notification(setup.config.settlements.bucketName, key, etag)]), context), { batchItemFailures: [] })
  t.match(await setup.deps.settlements.get('stl_01JCONTSHORT00000000000000'), { status: 'completed', rowsProcessed: 40, run: 1, reportKey: 'reports/stl_01JCONTSHORT00000000000000.csv' }, 'a 30 s invocation with a 60 s margin read the whole file (run 0) and wrote its report (run 1)')
})

t.test('end to end through the settlement queue: the worker sends itself continuations and the local poller delivers them', async (t) => {
  const setup = await setUp(t)
  const body = await fileFor(setup)
  // The real handler and sender, with a budget of 10 rows an invocation.
  pollSettlements(t, setup, { dispatch: async (event) => setup.handler(event, budget(9)) })
  await setup.put('settlements/generic/through-the-queue.csv', body)
  const settlement = await waitFor('the settlement to complete', async () => {
    const [found] = (await setup.deps.settlements.list({ limit: 1 })).settlements
    return found?.status === 'completed' ? found : undefined
  })
  t.match(settlement, { rowsProcessed: 40, run: 4, continued: 4, counts: { matched: 8, amount_mismatch: 4, currency_mismatch: 4, status_mismatch: 4, unknown_payment: 4, duplicate_row: 11, malformed_row: 5 } })
})
