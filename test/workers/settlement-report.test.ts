import { GetObjectCommand, ListMultipartUploadsCommand, NoSuchKey, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import type { Context } from 'aws-lambda'
import t from 'tap'
import pino from 'pino'
import { s3ClientOptions, type SettlementFiles } from '../../src/aws/s3.js'
import type { SettlementContinuation } from '../../src/queue/settlement-continuations.js'
import { createSettlementWorker } from '../../src/workers/settlement.js'
import type { SqsWorker } from '../../src/workers/types.js'
import { build, type Built, type Teardownable } from '../helpers/build.js'
import { sqsEvent } from '../helpers/events.js'

const HEADER = 'paymentId,providerRef,type,amount,currency,settledAt,fee'
const ROWS = 12
const ID = 'stl_01JREPORT0000000000000000'

/**
 * A context whose time runs out after `checks` checks. A run asks once as it starts and once a
 * row from its second: reading this file takes ROWS checks; the next is whether the report may
 * be written now, the one after it the report's check before its first page.
 */
function budget (checks: number): Context {
  let made = 0
  return { awsRequestId: 'test', getRemainingTimeInMillis: () => (made++ < checks ? 60_000 : 0) } as unknown as Context
}

/** Twelve rows for payments paylith does not know: twelve discrepancies. */
function file (): string {
  const rows = Array.from({ length: ROWS }, (_, index) => `pay_01JREPORT${String(index).padStart(16, '0')},,charge,${100 + index},EUR,,1`)
  return [HEADER, ...rows].join('\n') + '\n'
}

interface Setup extends Built {
  s3: S3Client
  sent: SettlementContinuation[]
  /** How often the settlement file itself was opened. */
  opens: () => number
  worker: SqsWorker
  original: string
}

async function setUp (t: Teardownable): Promise<Setup> {
  const built = await build(t)
  const s3 = new S3Client(s3ClientOptions(built.config))
  t.teardown(() => s3.destroy())
  const bucket = built.config.settlements.bucketName
  const key = 'settlements/generic/report.csv'
  const { ETag } = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: file() }))
  const sent: SettlementContinuation[] = []
  let opens = 0
  const files: SettlementFiles = { ...built.deps.settlementFiles, open: async (...args) => { opens++; return built.deps.settlementFiles.open(...args) } }
  const worker = createSettlementWorker({
    files,
    settlements: built.deps.settlements,
    continueLater: async (continuation) => { sent.push({ type: 'settlement-continuation', ...continuation }) },
    newId: () => ID,
    metrics: built.deps.metrics,
    logger: pino({ level: 'silent' }),
    clock: () => new Date()
  }, { lookupBatch: 5, concurrency: 2, safetyMarginMs: 1_000 })
  const original = JSON.stringify({ Records: [{ s3: { bucket: { name: bucket }, object: { key, eTag: (ETag ?? '').replaceAll('"', '') } } }] })
  return { ...built, s3, sent, opens: () => opens, worker, original }
}

/** The report's lines, or undefined while there is no report object. */
async function reportOf (setup: Setup): Promise<string[] | undefined> {
  try {
    const { Body } = await setup.s3.send(new GetObjectCommand({ Bucket: setup.config.settlements.bucketName, Key: `reports/${ID}.csv` }))
    return (await Body?.transformToString() ?? '').trimEnd().split('\n')
  } catch (error) {
    if (error instanceof NoSuchKey) return undefined
    throw error
  }
}

async function openUploads (setup: Setup): Promise<unknown[]> {
  const { Uploads } = await setup.s3.send(new ListMultipartUploadsCommand({ Bucket: setup.config.settlements.bucketName }))
  return Uploads ?? []
}

const COUNTED = { rowsProcessed: ROWS, counts: { unknown_payment: ROWS, matched: 0 } }

t.test('rows that end as the time runs out leave the report to a continuation, which writes only the report', async (t) => {
  const setup = await setUp(t)
  const queue = setup.resources.settlements.queue.name
  t.same(await setup.worker(sqsEvent(queue, [setup.original]), budget(ROWS)), { batchItemFailures: [] })
  t.match(await setup.deps.settlements.get(ID), { ...COUNTED, status: 'processing', reportPending: true, run: 1, continued: 1 }, 'every row counted, checkpointed as run 1 with the report pending')
  t.same(setup.sent.map((c) => c.run), [1])
  t.equal(await reportOf(setup), undefined, 'no report yet')

  // The original message again (a redelivery): the continuation was sent, so it does nothing.
  t.same(await setup.worker(sqsEvent(queue, [setup.original]), budget(ROWS)), { batchItemFailures: [] })
  t.equal(setup.sent.length, 1)

  const opened = setup.opens()
  t.same(await setup.worker(sqsEvent(queue, [JSON.stringify(setup.sent[0])]), budget(1_000)), { batchItemFailures: [] })
  t.equal(setup.opens(), opened, 'the continuation did not read the file again')
  const done = await setup.deps.settlements.get(ID)
  t.match(done, { ...COUNTED, status: 'completed', run: 1, reportKey: `reports/${ID}.csv` })
  t.notOk(done !== undefined && 'reportPending' in done, 'the report is no longer pending')
  t.equal((await reportOf(setup))?.length, 1 + ROWS, 'the header and a line per discrepancy')

  // The continuation again, after it completed: nothing changes.
  await setup.worker(sqsEvent(queue, [JSON.stringify(setup.sent[0])]), budget(1_000))
  t.same(await setup.deps.settlements.get(ID), done)
})

t.test('a report that runs out of time while it is written is aborted, never left half written, and its continuation writes it whole', async (t) => {
  const setup = await setUp(t)
  const queue = setup.resources.settlements.queue.name
  // Enough time to start the report, none left at its first page.
  t.same(await setup.worker(sqsEvent(queue, [setup.original]), budget(ROWS + 1)), { batchItemFailures: [] })
  t.match(await setup.deps.settlements.get(ID), { ...COUNTED, status: 'processing', reportPending: true, run: 1, continued: 1 })
  t.equal(await reportOf(setup), undefined, 'no report object')
  t.same(await openUploads(setup), [], 'no upload left open')

  // The continuation delivered twice at once: both write the same report; one completes the settlement.
  const continuation = JSON.stringify(setup.sent[0])
  const answers = await Promise.all([setup.worker(sqsEvent(queue, [continuation]), budget(1_000)), setup.worker(sqsEvent(queue, [continuation]), budget(1_000))])
  t.same(answers, [{ batchItemFailures: [] }, { batchItemFailures: [] }])
  t.match(await setup.deps.settlements.get(ID), { ...COUNTED, status: 'completed', run: 1 })
  t.equal((await reportOf(setup))?.length, 1 + ROWS)
})

t.test('a report-only run that runs out of time fails its message, to be delivered again, and leaves no report', async (t) => {
  const setup = await setUp(t)
  const queue = setup.resources.settlements.queue.name
  await setup.worker(sqsEvent(queue, [setup.original]), budget(ROWS))
  const continuation = JSON.stringify(setup.sent[0])
  // Its start, then no time at the first page.
  t.equal((await setup.worker(sqsEvent(queue, [continuation]), budget(1))).batchItemFailures.length, 1)
  t.match(await setup.deps.settlements.get(ID), { status: 'processing', reportPending: true, run: 1 })
  t.equal(await reportOf(setup), undefined)
  t.same(await setup.worker(sqsEvent(queue, [continuation]), budget(1_000)), { batchItemFailures: [] })
  t.match(await setup.deps.settlements.get(ID), { ...COUNTED, status: 'completed' })
})
