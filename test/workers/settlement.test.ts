import { gzipSync } from 'node:zlib'
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { parse } from 'csv-parse/sync'
import { QueryCommand } from '@aws-sdk/client-dynamodb'
import { unmarshall } from '@aws-sdk/util-dynamodb'
import t from 'tap'
import pino from 'pino'
import { s3ClientOptions } from '../../src/aws/s3.js'
import { createSettlementWorker, createdObjectsOf, decodeS3Key, type SettlementWorkerDeps } from '../../src/workers/settlement.js'
import { settlementContinuations } from '../../src/queue/settlement-continuations.js'
import type { Discrepancy, Settlement } from '../../src/store/settlements.js'
import { emptyCounts } from '../../src/domain/settlements/reconcile.js'
import { createMetrics } from '../../src/observability/metrics.js'
import { build, type Built, type Teardownable } from '../helpers/build.js'
import { storePayment } from '../helpers/payments.js'
import { waitFor } from '../helpers/wait.js'
import { sqsEvent } from '../helpers/events.js'
import { pollSettlements } from '../helpers/settlements.js'

const HEADER = 'paymentId,providerRef,type,amount,currency,settledAt,fee'

/** Settlement ids in the order the worker makes them. */
function ids (): () => string {
  let n = 0
  return () => `stl_01JTEST00000000000000000${String(n++).padStart(2, '0')}`
}

async function setUp (t: Teardownable): Promise<Built & { s3: S3Client, put: (key: string, body: string | Buffer) => Promise<string> }> {
  const built = await build(t, { deps: { settlementIds: ids() } })
  const s3 = new S3Client(s3ClientOptions(built.config))
  t.teardown(() => s3.destroy())
  const put = async (key: string, body: string | Buffer): Promise<string> => {
    const { ETag } = await s3.send(new PutObjectCommand({ Bucket: built.config.settlements.bucketName, Key: key, Body: body }))
    return (ETag ?? '').replaceAll('"', '')
  }
  return { ...built, s3, put }
}

/** An S3 notification of one created object, as S3 sends it (key URL-encoded). */
function notification (bucket: string, key: string, etag: string): string {
  const encoded = encodeURIComponent(key).replace(/%20/g, '+')
  return JSON.stringify({ Records: [{ eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3: { bucket: { name: bucket }, object: { key: encoded, eTag: etag } } }] })
}

async function discrepanciesOf (built: Built, settlementId: string): Promise<Discrepancy[]> {
  const { Items } = await built.deps.dynamodb.send(new QueryCommand({
    TableName: built.config.tableName,
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sk)',
    ExpressionAttributeValues: { ':pk': { S: `SETTLEMENT#${settlementId}` }, ':sk': { S: 'DISCREPANCY#' } }
  }))
  return (Items ?? []).map((item) => unmarshall(item) as Discrepancy)
}

/** The worker's deps as the service builds them, with a silent logger. */
function workerDeps (built: Built): SettlementWorkerDeps {
  return {
    files: built.deps.settlementFiles,
    settlements: built.deps.settlements,
    continueLater: settlementContinuations({ sqs: built.deps.sqs, url: built.config.settlements.queueUrl }),
    newId: ids(),
    metrics: built.deps.metrics,
    logger: pino({ level: 'silent' }),
    clock: () => new Date()
  }
}

/** Runs the settlement worker on one notification through lambda's handler, as the queue would deliver it. */
async function deliver (built: Built, body: string): Promise<unknown> {
  const queue = built.resources.settlements.queue
  return built.handler(sqsEvent(queue.name, [body]), { awsRequestId: 'test', getRemainingTimeInMillis: () => 60_000 } as never)
}

t.test('S3 keys arrive URL-encoded with + for spaces and are decoded', async (t) => {
  t.equal(decodeS3Key('settlements%2Fgeneric%2Fa+b%2Bc.csv'), 'settlements/generic/a b+c.csv')
  t.same(createdObjectsOf(JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: 'b' })), [], 'a test event announces nothing')
  t.throws(() => createdObjectsOf('{"hello":1}'), /not an S3 event notification/)
})

t.test('a file put into the bucket is reconciled end to end through the local SQS poller', async (t) => {
  const built = await setUp(t)
  const { deps } = built
  const succeeded = await deps.payments.transition(await storePayment(deps, { amount: 1000 }), 'succeeded', { providerRef: 'ch_matched_by_ref' })
  const other = await deps.payments.transition(await storePayment(deps, { amount: 500 }), 'succeeded')
  const pending = await storePayment(deps, { amount: 700 })
  const eur = await deps.payments.transition(await storePayment(deps, { amount: 300 }), 'succeeded')
  const file = [
    HEADER,
    `${other.id},,charge,500,eur,2026-11-27T10:00:00Z,15`, // 2 matched
    ',ch_matched_by_ref,charge,1000,EUR,2026-11-27T10:00:00Z,30', // 3 matched by provider reference
    `${eur.id},,charge,301,EUR,2026-11-27T10:00:00Z,9`, // 4 amount_mismatch
    `${eur.id},,refund,300,USD,2026-11-27T10:00:00Z,0`, // 5 currency_mismatch
    `${pending.id},,charge,700,EUR,2026-11-27T10:00:00Z,21`, // 6 status_mismatch
    'pay_01JUNKNOWN0000000000000000,,charge,100,EUR,2026-11-27T10:00:00Z,3', // 7 unknown_payment
    `${other.id},,charge,500,eur,2026-11-27T10:00:00Z,15`, // 8 duplicate_row
    `${succeeded.id},,charge,ten,EUR,2026-11-27T10:00:00Z,0` // 9 malformed_row
  ].join('\n')
  pollSettlements(t, built)
  await built.put('settlements/generic/november 27.csv', file)

  const settlement = await waitFor('the settlement to complete', async () => {
    const found = await deps.settlements.get('stl_01JTEST0000000000000000000')
    return found?.status === 'completed' ? found : undefined
  })
  t.match(settlement, {
    provider: 'generic',
    fileKey: 'settlements/generic/november 27.csv',
    rowsProcessed: 8,
    counts: { matched: 2, amount_mismatch: 1, currency_mismatch: 1, status_mismatch: 1, unknown_payment: 1, duplicate_row: 1, malformed_row: 1 }
  })
  t.same(settlement.totals.find((total) => total.currency === 'EUR'), { currency: 'EUR', gross: 500 + 1000 + 301 + 700 + 100 + 0, fee: 15 + 30 + 9 + 21 + 3, net: 2601 - 78 }, 'totals of the readable, first-seen rows')
  const discrepancies = await discrepanciesOf(built, settlement.id)
  t.same(discrepancies.map((d) => [d.line, d.classification]), [
    [4, 'amount_mismatch'], [5, 'currency_mismatch'], [6, 'status_mismatch'], [7, 'unknown_payment'], [8, 'duplicate_row'], [9, 'malformed_row']
  ])
  t.match(discrepancies[0], { file: { paymentId: eur.id, amount: 301 }, paylith: { paymentId: eur.id, amount: 300, status: 'succeeded' } }, 'what the file said and what paylith has')
  t.match(discrepancies[5], { reason: /amount must be an integer/, file: { amount: 'ten' } })

  t.equal(settlement.reportKey, `reports/${settlement.id}.csv`)
  const { Body, ContentType } = await built.s3.send(new GetObjectCommand({ Bucket: built.config.settlements.bucketName, Key: settlement.reportKey }))
  t.match(ContentType, /^text\/csv/)
  const report = parse(await Body?.transformToString() ?? '', { columns: true }) as Array<Record<string, string>>
  t.same(report.map((row) => [row.line, row.classification]), [
    ['4', 'amount_mismatch'], ['5', 'currency_mismatch'], ['6', 'status_mismatch'], ['7', 'unknown_payment'], ['8', 'duplicate_row'], ['9', 'malformed_row']
  ], 'the report has every discrepancy, by line')
  t.match(report[0], { reason: 'file says 301, paylith has 300', paylith_payment_id: eur.id, paylith_amount: '300', paylith_currency: 'EUR', paylith_status: 'succeeded' })
  t.match(JSON.parse(report[0]?.file ?? '{}'), { paymentId: eur.id, amount: 301 }, 'what the file said')
})

t.test('a gzipped file is decompressed as a stream', async (t) => {
  const built = await setUp(t)
  const payment = await built.deps.payments.transition(await storePayment(built.deps, { amount: 250 }), 'succeeded')
  const key = 'settlements/generic/day.csv.gz'
  const etag = await built.put(key, gzipSync(`${HEADER}\n${payment.id},,charge,250,EUR,2026-11-27T10:00:00Z,5\n`))
  t.same(await deliver(built, notification(built.config.settlements.bucketName, key, etag)), { batchItemFailures: [] })
  t.match(await built.deps.settlements.get('stl_01JTEST0000000000000000000'), { status: 'completed', rowsProcessed: 1, counts: { matched: 1 } })
})

t.test('a .gz file that is not gzip, or a line over 64 KB, fails the settlement without retries', async (t) => {
  const built = await setUp(t)
  const bucket = built.config.settlements.bucketName
  const notGzip = 'settlements/generic/broken.csv.gz'
  await deliver(built, notification(bucket, notGzip, await built.put(notGzip, `${HEADER}\n`)))
  t.match(await built.deps.settlements.get('stl_01JTEST0000000000000000000'), { status: 'failed', error: /header/ })
  const long = 'settlements/generic/long.csv'
  t.same(await deliver(built, notification(bucket, long, await built.put(long, `${HEADER}\npay_x,,charge,${'1'.repeat(70_000)},EUR,,0\n`))), { batchItemFailures: [] })
  t.match(await built.deps.settlements.get('stl_01JTEST0000000000000000001'), { status: 'failed', error: /max_record_size|record size/i })
})

t.test('a file without the format\'s columns fails, naming the missing ones', async (t) => {
  const built = await setUp(t)
  const key = 'settlements/generic/bad.csv'
  const etag = await built.put(key, 'paymentId,type,amount\npay_x,charge,1\n')
  t.same(await deliver(built, notification(built.config.settlements.bucketName, key, etag)), { batchItemFailures: [] }, 'the message is done: no retry can fix the file')
  const settlement = await built.deps.settlements.get('stl_01JTEST0000000000000000000')
  t.equal(settlement?.status, 'failed')
  t.match(settlement?.error, /lacks the columns providerRef, currency, settledAt, fee/)
  t.equal(settlement?.reportKey, undefined, 'a file that could not be read has no report')
})

t.test('a file under an unknown provider fails', async (t) => {
  const built = await setUp(t)
  const key = 'settlements/acme/x.csv'
  const etag = await built.put(key, `${HEADER}\n`)
  await deliver(built, notification(built.config.settlements.bucketName, key, etag))
  t.match(await built.deps.settlements.get('stl_01JTEST0000000000000000000'), { status: 'failed', error: /unknown provider "acme"/ })
})

t.test('an empty file completes with 0 rows', async (t) => {
  const built = await setUp(t)
  const key = 'settlements/generic/empty.csv'
  const etag = await built.put(key, Buffer.alloc(0))
  await deliver(built, notification(built.config.settlements.bucketName, key, etag))
  t.match(await built.deps.settlements.get('stl_01JTEST0000000000000000000'), { status: 'completed', rowsProcessed: 0, counts: { matched: 0 }, totals: [] })
})

t.test('a redelivered notification does not count the file twice', async (t) => {
  const built = await setUp(t)
  const payment = await built.deps.payments.transition(await storePayment(built.deps, { amount: 250 }), 'succeeded')
  const key = 'settlements/generic/again.csv'
  const etag = await built.put(key, `${HEADER}\n${payment.id},,charge,250,EUR,,5\npay_01JUNKNOWN0000000000000000,,charge,1,EUR,,0\n`)
  const message = notification(built.config.settlements.bucketName, key, etag)
  await deliver(built, message)
  const first = await built.deps.settlements.get('stl_01JTEST0000000000000000000') as Settlement
  await deliver(built, message)
  t.same(await built.deps.settlements.get('stl_01JTEST0000000000000000000'), first, 'the finished settlement is left as it was')
  t.equal(await built.deps.settlements.get('stl_01JTEST0000000000000000001'), undefined, 'no second settlement')
  t.equal((await discrepanciesOf(built, first.id)).length, 1)
})

t.test('an unfinished settlement is run again from the start on redelivery, with absolute counts', async (t) => {
  const built = await setUp(t)
  const key = 'settlements/generic/crashed.csv'
  const etag = await built.put(key, `${HEADER}\npay_01JUNKNOWN0000000000000000,,charge,1,EUR,,0\n`)
  const bucket = built.config.settlements.bucketName
  await built.deps.settlements.claimFile({ bucket, key, etag }, 'stl_01JTESTCRASHED000000000000')
  await deliver(built, notification(bucket, key, etag))
  t.match(await built.deps.settlements.get('stl_01JTESTCRASHED000000000000'), { status: 'completed', rowsProcessed: 1, counts: { unknown_payment: 1 } })
})

t.test('the settlement queue\'s test event and objects outside settlements/ are acknowledged and ignored', async (t) => {
  const built = await setUp(t)
  const bucket = built.config.settlements.bucketName
  t.same(await deliver(built, JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: bucket })), { batchItemFailures: [] })
  t.same(await deliver(built, notification(bucket, 'reports/x.csv', 'e')), { batchItemFailures: [] })
  t.same(await deliver(built, notification('another-bucket', 'settlements/generic/x.csv', 'e')), { batchItemFailures: [] })
  t.equal(await built.deps.settlements.get('stl_01JTEST0000000000000000000'), undefined)
})

t.test('a file S3 cannot give is a batch item failure, retried by the queue', async (t) => {
  const built = await setUp(t)
  const bucket = built.config.settlements.bucketName
  const response = await deliver(built, notification(bucket, 'settlements/generic/never-put.csv', 'e'))
  t.equal((response as { batchItemFailures: unknown[] }).batchItemFailures.length, 1)
})

t.test('a Stripe itemized payout reconciliation file: any column order, decimal amounts, the balance transaction as the duplicate key', async (t) => {
  const built = await setUp(t)
  await built.deps.payments.transition(await storePayment(built.deps, { amount: 1000 }), 'succeeded', { providerRef: 'pi_eur' })
  const file = [
    'reporting_category,gross,currency,balance_transaction_id,fee,net,payment_intent_id,created_utc,description',
    'charge,10.00,eur,txn_1,0.36,9.64,pi_eur,2026-11-27 10:00:00,ignored',
    'charge,10.00,eur,txn_1,0.36,9.64,pi_eur,2026-11-27 10:00:00,again',
    'charge,10.005,eur,txn_2,0,10.005,pi_eur,2026-11-27 10:00:00,'
  ].join('\r\n')
  const key = 'settlements/stripe/payouts.csv'
  await deliver(built, notification(built.config.settlements.bucketName, key, await built.put(key, file)))
  const settlement = await built.deps.settlements.get('stl_01JTEST0000000000000000000')
  t.match(settlement, { provider: 'stripe', status: 'completed', rowsProcessed: 3, counts: { matched: 1, duplicate_row: 1, malformed_row: 1, not_reconciled: 0 }, totals: [{ currency: 'EUR', gross: 1000, fee: 36, net: 964 }] })
})

t.test('Stripe rows paylith keeps no record of (a dispute, its reversal, a Stripe fee) are in the totals and listed for a person, not discrepancies', async (t) => {
  const built = await setUp(t)
  await built.deps.payments.transition(await storePayment(built.deps, { amount: 1000 }), 'succeeded', { providerRef: 'pi_eur' })
  const file = [
    'reporting_category,gross,currency,balance_transaction_id,fee,net,payment_intent_id',
    'charge,10.00,eur,txn_1,0.36,9.64,pi_eur',
    'dispute,-10.00,eur,txn_2,15.00,-25.00,pi_eur',
    'dispute_reversal,10.00,eur,txn_3,-15.00,25.00,pi_eur',
    'fee,-2.00,eur,txn_4,0.00,-2.00,',
    'fee,-2.00,eur,txn_4,0.00,-2.00,'
  ].join('\n')
  const key = 'settlements/stripe/with-disputes.csv'
  const written: string[] = []
  const metrics = createMetrics({ destination: { write: (chunk: string) => written.push(chunk) } })
  const worker = createSettlementWorker({ ...workerDeps(built), metrics, newId: () => 'stl_01JTESTDISPUTES00000000000' })
  t.same(await worker(sqsEvent(built.resources.settlements.queue.name, [notification(built.config.settlements.bucketName, key, await built.put(key, file))]), {} as never), { batchItemFailures: [] })
  metrics.flush()
  const id = 'stl_01JTESTDISPUTES00000000000'
  t.match(await built.deps.settlements.get(id), { status: 'completed', rowsProcessed: 5, counts: { matched: 1, not_reconciled: 3, duplicate_row: 1, malformed_row: 0, unknown_payment: 0 }, totals: [{ currency: 'EUR', gross: 800, fee: 36, net: 764 }] })
  const { discrepancies } = await built.deps.settlements.discrepancies(id, { limit: 10 })
  t.same(discrepancies.map((d) => [d.line, d.classification]), [[3, 'not_reconciled'], [4, 'not_reconciled'], [5, 'not_reconciled'], [6, 'duplicate_row']], 'each listed with its line, the repeated balance transaction still a duplicate')
  t.match(discrepancies[0], { reason: /reporting_category dispute/ })
  const documents = written.join('').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>)
  t.same(documents.filter((d) => 'SettlementDiscrepancies' in d).map((d) => d.SettlementDiscrepancies), [1], 'only the duplicate counts as a discrepancy (and alarms)')
})

t.test('with small batches the parse waits on the lookups and progress is saved as it goes', async (t) => {
  const built = await setUp(t)
  const payment = await built.deps.payments.transition(await storePayment(built.deps, { amount: 100 }), 'succeeded')
  const saved: Array<{ status: string, rows: number }> = []
  const settlements = {
    ...built.deps.settlements,
    save: async (s: Settlement) => { saved.push({ status: s.status, rows: s.rowsProcessed }); await built.deps.settlements.save(s) },
    saveIfRun: async (s: Settlement, run: number) => { saved.push({ status: s.status, rows: s.rowsProcessed }); return built.deps.settlements.saveIfRun(s, run) }
  }
  const worker = createSettlementWorker({ ...workerDeps(built), settlements, newId: () => 'stl_01JTESTSMALLBATCHES0000000' }, { lookupBatch: 2, concurrency: 2, progressEvery: 3 })
  const rows = Array.from({ length: 10 }, (_, index) => `${payment.id},,charge,100,EUR,2026-11-27T10:00:${String(index).padStart(2, '0')}Z,1`)
  const key = 'settlements/generic/ten.csv'
  const etag = await built.put(key, [HEADER, ...rows].join('\n'))
  t.same(await worker(sqsEvent(built.resources.settlements.queue.name, [notification(built.config.settlements.bucketName, key, etag)]), {} as never), { batchItemFailures: [] })
  t.same(saved.map((s) => s.rows), [0, 3, 6, 9, 10, 10], 'saved at the start, every 3 rows, when every row is counted, and when the report is written')
  t.match(await built.deps.settlements.get('stl_01JTESTSMALLBATCHES0000000'), { status: 'completed', counts: { matched: 10 }, totals: [{ gross: 1000, fee: 10 }] })
})

t.test('a file for a settlement awaiting its upload is reconciled under it within the hour after its URL expired; after that it gets a settlement of its own', async (t) => {
  const built = await setUp(t)
  const now = Date.now()
  const awaiting = (id: string, uploadExpiresAt: number): Settlement => ({ id, provider: 'generic', fileKey: `settlements/generic/${id}/day.csv`, status: 'awaiting_upload', rowsProcessed: 0, counts: emptyCounts(), totals: [], startedAt: new Date(uploadExpiresAt - 900_000).toISOString(), uploadExpiresAt: new Date(uploadExpiresAt).toISOString() })
  const late = awaiting('stl_01JAAAA0000000000000000001', now - 59 * 60_000)
  const expired = awaiting('stl_01JAAAA0000000000000000002', now - 61 * 60_000)
  const file = `${HEADER}\npay_01JUNKNOWN0000000000000000,,charge,5,EUR,,0\n`
  for (const settlement of [late, expired]) {
    await built.deps.settlements.save(settlement)
    await deliver(built, notification(built.config.settlements.bucketName, settlement.fileKey, await built.put(settlement.fileKey, file)))
  }
  t.match(await built.deps.settlements.get(late.id), { status: 'completed', rowsProcessed: 1 }, 'a PUT begun before its URL expired may end after: still this settlement\'s')
  t.match(await built.deps.settlements.get(expired.id), { status: 'awaiting_upload', rowsProcessed: 0 }, 'left as it was (shown expired)')
  const { settlements } = await built.deps.settlements.list({ limit: 10 })
  t.match(settlements.find((s) => s.fileKey === expired.fileKey && s.id !== expired.id), { status: 'completed', rowsProcessed: 1 }, 'the late file got a settlement of its own')
})
