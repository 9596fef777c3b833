import { spawnSync } from 'node:child_process'
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { S3Client } from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { s3ClientOptions } from '../src/aws/s3.js'
import { emptyCounts } from '../src/domain/settlements/reconcile.js'
import { sampleLines } from '../src/local/settlement-sample.js'
import type { Payment } from '../src/domain/payment.js'
import type { Settlement } from '../src/store/settlements.js'
import { storePaymentForBench } from './settlement-payments.js'
import { benchConfig, benchService, ratioOf, type BenchRow } from './lib.js'

// M11: a settlement file reconciled by the Lambda bundle in a process of its own
// (bench/settlement-bundle.mjs, dist/lambda.mjs as Lambda runs it), on DynamoDB Local and moto's
// S3: its peak RSS for a large file against a small one (memory must not grow with the file) and
// rows per second; then the small file once more under tsx (bench/settlement-worker.ts), which
// counts the share of the time a DynamoDB call was in flight.
// The file is Stripe's itemized format from `npm run settlement:sample`, against PAYMENTS real
// payments: the rest of its rows are payments paylith does not know, so every such row is looked
// up, marked seen and stored as a discrepancy (the worst case for the table), and all of them go
// into the report. SETTLEMENT_BENCH_ROWS sets the large file: 100,000 rows by default, which runs
// in about two and a half minutes on DynamoDB Local (700–1,000 rows/s: every row writes there);
// SETTLEMENT_BENCH_ROWS=1000000 is the target size (about 110 MB) and takes 17–25 minutes:
// longer than one Lambda invocation here, so the bundle's process follows the worker's
// continuations as the event source mapping would (bench/settlement-bundle.mjs).
const PAYMENTS = 1_000
const SMALL = 10_000
const LARGE = Number(process.env.SETTLEMENT_BENCH_ROWS ?? 100_000)

interface WorkerRun { wallMs: number, dynamodbMs: number, maxRssKiB: number, invocations: number, settlement: Settlement }

/** Runs M11. */
export async function run (): Promise<BenchRow[]> {
  const config = benchConfig('settlement')
  const { deps, config: complete } = await benchService(config)
  const payments: Payment[] = []
  for (let index = 0; index < PAYMENTS; index++) payments.push(await storePaymentForBench(deps, index))
  const dir = mkdtempSync(join(tmpdir(), 'paylith-bench-settlement-'))
  const s3 = new S3Client(s3ClientOptions(config))
  const env = { ...process.env, TABLE_NAME: config.tableName, WORK_QUEUE_NAME: config.queues.work.name, DEAD_LETTER_QUEUE_NAME: config.queues.deadLetter.name, LOG_LEVEL: 'silent' }
  // The bundle runs as in Lambda: configured by the environment the stack would give it.
  const lambdaEnv = {
    ...process.env,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    AWS_LAMBDA_FUNCTION_NAME: 'bench',
    TABLE_NAME: config.tableName,
    WORK_QUEUE_URL: complete.queues.work.url,
    DEAD_LETTER_QUEUE_URL: complete.queues.deadLetter.url,
    SETTLEMENT_QUEUE_URL: complete.settlements.queueUrl,
    SETTLEMENT_BUCKET_NAME: complete.settlements.bucketName,
    API_KEYS: process.env.API_KEYS ?? `${'0'.repeat(64)}=admin`,
    PAYMENT_PROVIDER: 'sandbox',
    LOG_LEVEL: 'silent'
  }
  /** Reconciles `rows` rows: in the Lambda bundle (what M11 measures), or under tsx with DynamoDB's in-flight time counted. */
  const reconcile = async (rows: number, how: 'bundle' | 'tsx' = 'bundle'): Promise<WorkerRun & { bytes: number, writeMs: number, uploadMs: number }> => {
    const file = join(dir, `bench-${rows}.csv`)
    const writing = performance.now()
    await pipeline(Readable.from(sampleLines(payments, { rows, discrepancies: 0, provider: 'stripe' }, emptyCounts()), { objectMode: false }), createWriteStream(file))
    const writeMs = performance.now() - writing
    const key = `settlements/stripe/bench-${rows}.csv`
    const uploading = performance.now()
    await new Upload({ client: s3, params: { Bucket: config.settlements.bucketName, Key: key, Body: createReadStream(file) } }).done()
    const uploadMs = performance.now() - uploading
    const child = how === 'bundle'
      ? spawnSync(process.execPath, ['bench/settlement-bundle.mjs', key], { env: lambdaEnv, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 })
      : spawnSync(process.execPath, ['--import', 'tsx', 'bench/settlement-worker.ts', key], { env, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 })
    if (child.status !== 0) throw new Error(`the settlement worker failed: ${child.stderr}`)
    const printed = JSON.parse(child.stdout.trim().split('\n').at(-1) ?? '{}') as Omit<WorkerRun, 'settlement' | 'dynamodbMs' | 'invocations'> & Partial<WorkerRun>
    const settlement = printed.settlement ?? (await deps.settlements.list({ limit: 1 })).settlements[0]
    if (settlement === undefined) throw new Error('no settlement was recorded')
    const result: WorkerRun = { dynamodbMs: Number.NaN, invocations: 1, ...printed, settlement }
    if (result.settlement.rowsProcessed !== rows || result.settlement.status !== 'completed') throw new Error(`the bench file was not reconciled whole: ${JSON.stringify(result.settlement)}`)
    const bytes = statSync(file).size
    rmSync(file)
    return { ...result, bytes, writeMs, uploadMs }
  }
  const small = await reconcile(SMALL)
  const large = await reconcile(LARGE)
  const share = await reconcile(SMALL, 'tsx')
  s3.destroy()
  rmSync(dir, { recursive: true, force: true })
  const mib = (kib: number): string => `${(kib / 1024).toFixed(1)} MiB`
  const describe = (r: typeof small): string => `${Math.round(r.settlement.rowsProcessed / (r.wallMs / 1000)).toLocaleString('en')} rows/s (${(r.wallMs / 1000).toFixed(1)} s in ${r.invocations} invocation${r.invocations === 1 ? '' : 's'}; file ${(r.bytes / 1024 / 1024).toFixed(1)} MB written in ${(r.writeMs / 1000).toFixed(1)} s, uploaded in ${(r.uploadMs / 1000).toFixed(1)} s)`
  return [
    { metric: `M11 peak RSS of the worker, ${LARGE.toLocaleString('en')} rows`, ours: mib(large.maxRssKiB), baseline: `${SMALL.toLocaleString('en')} rows: ${mib(small.maxRssKiB)}`, ratio: ratioOf(large.maxRssKiB, small.maxRssKiB), target: '≤ 200 MiB and ≤ 1.2' },
    { metric: `M11a reconciled, ${LARGE.toLocaleString('en')} rows (${PAYMENTS} real payments)`, ours: describe(large), baseline: `${SMALL.toLocaleString('en')} rows: ${describe(small)}`, ratio: ratioOf(large.settlement.rowsProcessed / large.wallMs, small.settlement.rowsProcessed / small.wallMs), target: 'report' },
    { metric: `M11b DynamoDB's share: a call in flight, ${SMALL.toLocaleString('en')} rows under tsx`, ours: `${(100 * share.dynamodbMs / share.wallMs).toFixed(0)} % of ${(share.wallMs / 1000).toFixed(1)} s`, baseline: '—', ratio: '—', target: 'report' }
  ]
}
