import { createHash } from 'node:crypto'
import type { Readable } from 'node:stream'
import type { Context, SQSBatchResponse, SQSRecord } from 'aws-lambda'
import type { Logger } from 'pino'
import type { SettlementFiles } from '../aws/s3.js'
import { SETTLEMENT_BUCKET, settlementIdOfKey } from '../aws/resources.js'
import { SettlementFileError, SettlementReportOutOfTimeError } from '../domain/errors.js'
import type { IdGenerator } from '../domain/ids.js'
import type { Payment } from '../domain/payment.js'
import {
  Classification,
  DISCREPANCIES,
  addToTotals,
  classify,
  emptyCounts,
  isMalformed,
  type CurrencyTotals,
  type MalformedRow,
  type SettlementRow
} from '../domain/settlements/reconcile.js'
import { reportHeader, reportLine } from '../domain/settlements/report.js'
import { settlementAsOf } from '../domain/settlements/upload-window.js'
import { isObject } from '../lib/is-object.js'
import { withLogContext } from '../observability/logger.js'
import { MetricName, type Metrics } from '../observability/metrics.js'
import { isSettlementContinuation, type ContinueSettlement, type SettlementContinuation } from '../queue/settlement-continuations.js'
import { isSettlementFormat, readSettlementRows, type SettlementFormat } from '../settlements/read-rows.js'
import type { Discrepancy, Settlement, SettlementStore } from '../store/settlements.js'
import { SETTLEMENT_SEEN_SHARDS } from '../store/table.js'
import type { SqsWorker } from './types.js'

/** What the settlement worker needs. */
export interface SettlementWorkerDeps {
  files: SettlementFiles
  settlements: SettlementStore
  /** Sends the worker a continuation on the settlement queue. */
  continueLater: ContinueSettlement
  newId: IdGenerator
  metrics: Metrics
  logger: Logger
  clock: () => Date
}

/**
 * How the worker reconciles: rows looked up per batch, batches in flight at once, progress
 * written every so many rows, and the time left to an invocation at which it checkpoints.
 */
export interface SettlementWorkerOptions {
  lookupBatch: number
  concurrency: number
  progressEvery: number
  safetyMarginMs: number
}

/** The defaults: BatchGetItem's 100 keys, four lookups in flight, progress every 10,000 rows, a checkpoint a minute before the invocation's end. */
export const SETTLEMENT_WORKER_DEFAULTS: SettlementWorkerOptions = { lookupBatch: 100, concurrency: 4, progressEvery: 10_000, safetyMarginMs: 60_000 }

/** Discrepancies read from the table per page while the report is written. */
const REPORT_PAGE = 1_000

/** How long a file's seen-row marks are kept: past any redelivery or continuation of it. */
const SEEN_ROWS_TTL_SECONDS = 30 * 86_400

/** A readable row, first seen among the rows this run holds; the table says whether an earlier run saw it. */
interface FirstRow {
  row: SettlementRow
  hash: string
}

/** A readable row seen earlier in the same file. */
interface DuplicateRow {
  line: number
  duplicate: SettlementRow
}

/** A row as the parse hands it to the lookups. */
type ParsedRow = FirstRow | MalformedRow | DuplicateRow

/** How one run of a file ended: the file is done, a checkpoint was written for the next run, or another delivery has moved the settlement on. */
type RunOutcome = 'done' | 'paused' | 'superseded'

/** An object an S3 event notification says was created. */
export interface CreatedObject {
  bucket: string
  /** Decoded: S3 sends keys URL-encoded, with `+` for spaces. */
  key: string
  etag: string
}

/**
 * The objects a settlement-queue message announces; none for S3's `s3:TestEvent` (sent when the
 * notification is configured), which is acknowledged and ignored.
 * NOTE: https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
 */
export function createdObjectsOf (body: string): CreatedObject[] {
  const message: unknown = JSON.parse(body)
  if (isObject(message) && message.Event === 's3:TestEvent') return []
  if (!isObject(message) || !Array.isArray(message.Records)) throw new Error('not an S3 event notification')
  return message.Records.map((record: unknown) => {
    const s3 = isObject(record) && isObject(record.s3) ? record.s3 : {}
    const bucket = isObject(s3.bucket) ? s3.bucket.name : undefined
    const object = isObject(s3.object) ? s3.object : {}
    if (typeof bucket !== 'string' || typeof object.key !== 'string') throw new Error('an S3 record without bucket name or object key')
    return { bucket, key: decodeS3Key(object.key), etag: typeof object.eTag === 'string' ? object.eTag : String(object.sequencer ?? '') }
  })
}

/** An S3 notification's key as the object is named: `+` is a space, then percent-decoding. */
export function decodeS3Key (key: string): string {
  return decodeURIComponent(key.replace(/\+/g, ' '))
}

/** A row key's hash as the seen-row marks store it: 128 bits of SHA-256, base64url. */
export function rowHash (rowKey: string): string {
  return createHash('sha256').update(rowKey).digest('base64url').slice(0, 22)
}

/**
 * The settlement worker: for each file created under `settlements/<provider>/`, streams it,
 * reconciles every row against the payments (looked up in batches, a bounded number at once,
 * the parse waiting on them), and stores the settlement with its counts, totals and
 * discrepancies. A file that cannot be read at all ends `failed`; an S3 or DynamoDB failure is
 * a batch item failure, retried, then kept in the settlement dead-letter queue.
 *
 * Lambda's 15 minutes: when the invocation has less than `safetyMarginMs` left (or half of what
 * it had at the start of the run, if that is less), the run stops
 * at a row boundary, writes a checkpoint (the line, the byte after it in a plain file, the
 * counts and totals so far) as run n + 1, and sends itself a continuation for run n + 1, which
 * resumes with a ranged GET (a gzipped file is read again from its start, its rows up to the
 * line skipped). Duplicate rows are told across runs by seen-row marks in the table (a hash of
 * each row key with the line it was first seen on, over SETTLEMENT_SEEN_SHARDS partition keys),
 * so memory does not grow with the file.
 *
 * Redelivery never counts twice: counts are absolute and every write of a run is conditional
 * on the settlement still being at that run, so a stale or duplicate message either redoes the
 * same rows to the same result or finds itself superseded and stops. A run tried again (its
 * first try failed or was cut off) starts from its checkpoint with the counts saved in it; a
 * message for an earlier run re-sends the current run's continuation if it was never marked sent.
 *
 * The report is a run of its own: once every row is counted the settlement is checkpointed with
 * the report pending (run n + 1), and the report is written then if the time left allows, else by
 * that run's continuation, which reads no row. A report short of time aborts its upload.
 */
export function createSettlementWorker (deps: SettlementWorkerDeps, options: Partial<SettlementWorkerOptions> = {}): SqsWorker {
  const { lookupBatch, concurrency, progressEvery, safetyMarginMs } = { ...SETTLEMENT_WORKER_DEFAULTS, ...options }

  const handleRecord = async (record: SQSRecord, context: Context | undefined): Promise<void> => {
    await withLogContext({ messageId: record.messageId }, async () => {
      const message: unknown = JSON.parse(record.body)
      if (isSettlementContinuation(message)) {
        await continueSettlement(message, context)
        return
      }
      for (const object of createdObjectsOf(record.body)) {
        if (object.bucket !== deps.files.bucketName || !object.key.startsWith(SETTLEMENT_BUCKET.filesPrefix)) {
          deps.logger.warn({ bucket: object.bucket, key: object.key }, 'a settlement notification for an object outside settlements/ of the settlement bucket: ignored')
          continue
        }
        await reconcileObject(object, context)
      }
    })
  }

  const reconcileObject = async (object: CreatedObject, context: Context | undefined): Promise<void> => {
    let id = await uploadedFor(object.key) ?? deps.newId()
    const claim = await deps.settlements.claimFile(object, id)
    if (!claim.claimed) {
      id = claim.settlementId
      const earlier = claim.settlement
      if (earlier !== undefined && earlier.status !== 'processing') {
        deps.logger.info({ settlementId: id, key: object.key, status: earlier.status }, 'settlement file delivered again; already reconciled')
        return
      }
      // Continued since: the continuations carry it on; this only makes sure the latest was sent.
      if (earlier !== undefined && (earlier.run ?? 0) > 0) {
        await ensureContinued(earlier)
        return
      }
    }
    const provider = object.key.slice(SETTLEMENT_BUCKET.filesPrefix.length).split('/')[0] ?? ''
    const settlement: Settlement = {
      id,
      provider,
      fileKey: object.key,
      status: 'processing',
      rowsProcessed: 0,
      counts: emptyCounts(),
      totals: [],
      startedAt: deps.clock().toISOString(),
      run: 0,
      seenShards: SETTLEMENT_SEEN_SHARDS
    }
    await deps.settlements.save(settlement)
    await runFile(settlement, context)
  }

  /** The settlement `POST /v1/settlements` made for this key, while it still waits for its file (a second version of it, or a file after it expired, gets a settlement of its own). */
  const uploadedFor = async (key: string): Promise<string | undefined> => {
    const reserved = settlementIdOfKey(key)
    if (reserved === undefined) return undefined
    const settlement = await deps.settlements.get(reserved)
    if (settlement === undefined) return undefined
    return settlementAsOf(settlement, deps.clock()).status === 'awaiting_upload' && settlement.fileKey === key ? reserved : undefined
  }

  const continueSettlement = async ({ settlementId, run }: SettlementContinuation, context: Context | undefined): Promise<void> => {
    const settlement = await deps.settlements.get(settlementId)
    if (settlement === undefined || settlement.status !== 'processing') {
      deps.logger.info({ settlementId, run, status: settlement?.status }, 'settlement continuation for a settlement not in progress; ignored')
      return
    }
    const current = settlement.run ?? 0
    if (current === run) {
      await runFile(settlement, context)
    } else if (current > run) {
      await ensureContinued(settlement)
    } else {
      deps.logger.warn({ settlementId, run, current }, 'settlement continuation ahead of its settlement; ignored')
    }
  }

  /** Sends the continuation of the settlement's current run unless it is marked sent (a send that failed after its checkpoint). */
  const ensureContinued = async (settlement: Settlement): Promise<void> => {
    const run = settlement.run ?? 0
    if (settlement.continued === run) {
      deps.logger.info({ settlementId: settlement.id, run }, 'settlement message delivered again; its continuation was sent')
      return
    }
    await deps.continueLater({ settlementId: settlement.id, run })
    await deps.settlements.markContinued(settlement.id, run)
    deps.logger.info({ settlementId: settlement.id, run, line: settlement.checkpoint?.line }, 'settlement continuation sent')
  }

  /** One run of a file: from the start, or from the settlement's checkpoint, with the counts as they were there; or, once every row is counted, its report. */
  const runFile = async (settlement: Settlement, context: Context | undefined): Promise<void> => {
    const run = settlement.run ?? 0
    const time = invocationTime(context, safetyMarginMs)
    if (settlement.reportPending === true) {
      await reportRun(settlement, run, time, { inline: false })
      return
    }
    const { checkpoint } = settlement
    if (checkpoint !== undefined) {
      // A try of this run that failed may have saved progress past the checkpoint: it counts again from there.
      settlement.rowsProcessed = checkpoint.rowsProcessed
      // A checkpoint from before a classification existed has no count for it yet.
      settlement.counts = { ...emptyCounts(), ...checkpoint.counts }
      settlement.totals = checkpoint.totals.map((total) => ({ ...total }))
    }
    const provider = settlement.provider
    let outcome: RunOutcome = 'done'
    try {
      if (!isSettlementFormat(provider)) throw new SettlementFileError(`unknown provider "${provider}" in the key: expected settlements/generic/... or settlements/stripe/...`)
      const ranged = settlement.checkpoint?.offset !== undefined && !settlement.fileKey.endsWith('.gz')
      const body = await deps.files.open(settlement.fileKey, ranged ? { from: settlement.checkpoint?.offset } : {})
      try {
        outcome = await reconcileRows(settlement, body, provider, run, time)
      } finally {
        body.destroy()
      }
    } catch (error) {
      if (!isFileProblem(error)) throw error
      settlement.status = 'failed'
      settlement.error = (error as Error).message
    }
    if (outcome === 'paused') {
      await ensureContinued(settlement)
      return
    }
    if (outcome === 'done' && settlement.status === 'processing') {
      // Every row is counted: that is a checkpoint of its own (run n + 1, the report pending), so
      // a report cut short by the timeout never has the last rows read and counted again.
      settlement.reportPending = true
      settlement.run = run + 1
      if (await deps.settlements.saveIfRun(settlement, run)) {
        await reportRun(settlement, run + 1, time, { inline: true })
        return
      }
      outcome = 'superseded'
    }
    if (outcome === 'done') {
      settlement.completedAt = deps.clock().toISOString()
      if (!await deps.settlements.saveIfRun(settlement, run)) outcome = 'superseded'
    }
    if (outcome === 'superseded') {
      deps.logger.info({ settlementId: settlement.id, run }, 'settlement moved on by another delivery; this run stops')
      return
    }
    finished(settlement, run)
  }

  /**
   * The last run of a file: writes its report and completes it. In the invocation that counted
   * the last rows (`inline`), only with more than the safety margin left, and a report that runs
   * out of time there is aborted and left to a continuation; a continuation has its invocation
   * for the report alone.
   */
  const reportRun = async (settlement: Settlement, run: number, time: InvocationTime, { inline }: { inline: boolean }): Promise<void> => {
    if (inline && time.left() < time.margin) {
      deps.logger.info({ settlementId: settlement.id, run }, 'settlement rows counted; the report is left to a continuation: the invocation is running out of time')
      await ensureContinued(settlement)
      return
    }
    try {
      settlement.reportKey = await writeReport(settlement.id, time)
    } catch (error) {
      if (!inline || !(error instanceof SettlementReportOutOfTimeError)) throw error
      deps.logger.info({ settlementId: settlement.id, run }, 'settlement report aborted: the invocation is running out of time; a continuation writes it')
      await ensureContinued(settlement)
      return
    }
    const { reportPending: _reportPending, ...completed } = settlement
    const done: Settlement = { ...completed, status: 'completed', completedAt: deps.clock().toISOString() }
    if (!await deps.settlements.saveIfRun(done, run)) {
      deps.logger.info({ settlementId: settlement.id, run }, 'settlement moved on by another delivery; this run stops')
      return
    }
    finished(done, run)
  }

  /** Counts a finished file's rows and discrepancies, and says so. */
  const finished = (settlement: Settlement, run: number): void => {
    const provider = settlement.provider
    deps.metrics.count(MetricName.settlementRows, { provider }, settlement.rowsProcessed)
    const discrepancies = DISCREPANCIES.reduce((sum, classification) => sum + settlement.counts[classification], 0)
    if (discrepancies > 0) deps.metrics.count(MetricName.settlementDiscrepancies, { provider }, discrepancies)
    deps.logger.info({ settlementId: settlement.id, key: settlement.fileKey, status: settlement.status, rows: settlement.rowsProcessed, runs: run + 1, counts: settlement.counts }, 'settlement file reconciled')
  }

  const reconcileRows = async (settlement: Settlement, body: Readable, format: SettlementFormat, run: number, time: InvocationTime): Promise<RunOutcome> => {
    const totals = new Map<string, CurrencyTotals>(settlement.totals.map((total) => [total.currency, { ...total }]))
    // Row hashes of the rows in batches not yet recorded as seen, with the line each was first on.
    const pending = new Map<string, number>()
    const inFlight = new Set<Promise<void>>()
    const expiresAt = Math.floor(deps.clock().getTime() / 1000) + SEEN_ROWS_TTL_SECONDS
    let failure: unknown
    let batch: ParsedRow[] = []
    let sinceProgress = 0
    let last: { line: number, end: number | undefined, columns: string[] } | undefined
    let paused = false
    const flush = async (rows: ParsedRow[]): Promise<void> => {
      const first = rows.filter((row): row is FirstRow => 'hash' in row)
      const earlier = await deps.settlements.seenRows(settlement.id, first.map((row) => row.hash), settlement.seenShards)
      const classified = rows.map((row): ParsedRow => {
        if (!('hash' in row)) return row
        const seenOn = earlier.get(row.hash)
        // A mark on this very line is this run's own, written by an earlier try of it.
        if (seenOn !== undefined && seenOn < row.row.line) return { line: row.row.line, duplicate: row.row }
        addToTotals(totals, row.row)
        return row
      })
      const discrepancies = await reconcileBatch(classified)
      await deps.settlements.putSeenRows(settlement.id, classified.filter((row): row is FirstRow => 'hash' in row).map((row) => ({ hash: row.hash, line: row.row.line })), expiresAt, settlement.seenShards)
      await deps.settlements.putDiscrepancies(settlement.id, discrepancies)
      for (const row of first) if (pending.get(row.hash) === row.row.line) pending.delete(row.hash)
      for (const discrepancy of discrepancies) settlement.counts[discrepancy.classification]++
      settlement.counts.matched += rows.length - discrepancies.length
    }
    const start = (rows: ParsedRow[]): void => {
      const running = flush(rows).catch((error: unknown) => { failure ??= error }).finally(() => inFlight.delete(running))
      inFlight.add(running)
    }
    const settle = async (): Promise<void> => {
      await Promise.all(inFlight)
      if (failure !== undefined) throw failure
      settlement.totals = [...totals.values()]
    }
    for await (const { row, end, columns } of readSettlementRows(body, { key: settlement.fileKey, format, ...(settlement.checkpoint !== undefined && { after: settlement.checkpoint }) })) {
      if (failure !== undefined) break
      // Every run reads at least one row, so a continuation always gets further.
      if (last !== undefined && time.left() < time.margin) {
        paused = true
        break
      }
      settlement.rowsProcessed++
      if (isMalformed(row)) {
        batch.push(row)
      } else {
        // Duplicates are told in file order, before the lookups run out of order.
        const hash = rowHash(row.rowKey)
        if (pending.has(hash)) {
          batch.push({ line: row.line, duplicate: row })
        } else {
          pending.set(hash, row.line)
          batch.push({ row, hash })
        }
      }
      last = { line: row.line, end, columns }
      if (batch.length >= lookupBatch) {
        start(batch)
        batch = []
        // Back-pressure: the parse waits while the lookups are at their bound.
        while (inFlight.size >= concurrency) await Promise.race(inFlight)
      }
      if (++sinceProgress >= progressEvery) {
        sinceProgress = 0
        await settle()
        if (!await deps.settlements.saveIfRun(settlement, run)) return 'superseded'
      }
    }
    if (batch.length > 0) start(batch)
    await settle()
    if (!paused || last === undefined) return 'done'
    settlement.checkpoint = {
      line: last.line,
      columns: last.columns,
      ...(last.end !== undefined && { offset: last.end }),
      rowsProcessed: settlement.rowsProcessed,
      counts: { ...settlement.counts },
      totals: settlement.totals.map((total) => ({ ...total }))
    }
    settlement.run = run + 1
    if (!await deps.settlements.saveIfRun(settlement, run)) return 'superseded'
    deps.logger.info({ settlementId: settlement.id, run: run + 1, line: last.line, offset: last.end, rows: settlement.rowsProcessed }, 'settlement checkpointed: the invocation is running out of time')
    return 'paused'
  }

  /**
   * Writes `reports/<id>.csv`: every discrepancy by line, read from the table a page at a time and
   * streamed to S3. Before each page it checks the time: with less than half the safety margin
   * left it stops, and the upload is aborted (an object appears only when it is complete).
   * @throws SettlementReportOutOfTimeError when it stopped for time
   */
  const writeReport = async (settlementId: string, time: InvocationTime): Promise<string> => {
    const key = `${SETTLEMENT_BUCKET.reportsPrefix}${settlementId}.csv`
    const settlements = deps.settlements
    async function * lines (): AsyncGenerator<string> {
      yield reportHeader()
      let cursor: string | undefined
      do {
        if (time.left() < time.margin / 2) throw new SettlementReportOutOfTimeError(`settlement ${settlementId}'s report stopped: the invocation is about to time out`, { settlementId })
        const page = await settlements.discrepancies(settlementId, { limit: REPORT_PAGE, ...(cursor !== undefined && { cursor }) })
        yield page.discrepancies.map(reportLine).join('')
        cursor = page.nextCursor ?? undefined
      } while (cursor !== undefined)
    }
    await deps.files.write(key, lines(), 'text/csv; charset=utf-8')
    return key
  }

  /** The discrepancies of one batch of rows (the matched rows are the rest). */
  const reconcileBatch = async (rows: ParsedRow[]): Promise<Discrepancy[]> => {
    const readable = rows.filter((row): row is FirstRow => 'hash' in row).map((row) => row.row)
    const byRef = await deps.settlements.paymentIdsByRef(readable.filter((row) => row.paymentId === undefined && row.providerRef !== undefined).map((row) => row.providerRef as string))
    const paymentIdOf = (row: SettlementRow): string | undefined => row.paymentId ?? (row.providerRef === undefined ? undefined : byRef.get(row.providerRef))
    const payments = await deps.settlements.paymentsById(readable.map(paymentIdOf).filter((id): id is string => id !== undefined))
    const discrepancies: Discrepancy[] = []
    for (const parsed of rows) {
      if ('duplicate' in parsed) {
        discrepancies.push({ line: parsed.line, classification: Classification.duplicateRow, reason: 'the same row appears earlier in the file', file: rowFields(parsed.duplicate) })
        continue
      }
      if (!('hash' in parsed)) {
        discrepancies.push({ line: parsed.line, classification: Classification.malformedRow, reason: parsed.error, file: parsed.fields })
        continue
      }
      const { row } = parsed
      const paymentId = paymentIdOf(row)
      const payment = paymentId === undefined ? undefined : payments.get(paymentId)
      const { classification, reason } = classify(row, payment)
      if (classification === Classification.matched) continue
      discrepancies.push({
        line: row.line,
        classification,
        ...(reason !== undefined && { reason }),
        file: rowFields(row),
        ...(payment !== undefined && { paylith: paylithSide(payment) })
      })
    }
    return discrepancies
  }

  return async (event, context) => {
    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = []
    // One file at a time: each is long, and memory stays bounded by one file's batches.
    for (const record of event.Records) {
      try {
        await handleRecord(record, context)
      } catch (error) {
        deps.logger.error({ err: error, messageId: record.messageId }, 'settlement message failed; it will be retried')
        batchItemFailures.push({ itemIdentifier: record.messageId })
      }
    }
    return { batchItemFailures }
  }
}

/** The time an invocation has left, and the margin before its end at which a run stops. */
interface InvocationTime {
  left: () => number
  margin: number
}

/**
 * The invocation's clock, as a run starts: the margin is the safety margin, or half the time the
 * invocation has if that is less, so a function with a short timeout (the local pollers' is the
 * visibility timeout, 30 s by default) still reads for half of it rather than a row at a time.
 */
function invocationTime (context: Context | undefined, safetyMarginMs: number): InvocationTime {
  const left = (): number => context?.getRemainingTimeInMillis?.() ?? Infinity
  return { left, margin: Math.min(safetyMarginMs, left() / 2) }
}

/** A failure of the file itself (format, columns, compression, a line too long), not of the service: the settlement fails, the message is done. */
function isFileProblem (error: unknown): boolean {
  if (error instanceof SettlementFileError) return true
  const code = (error as { code?: unknown } | undefined)?.code
  return typeof code === 'string' && (code.startsWith('CSV_') || code.startsWith('Z_'))
}

function rowFields (row: SettlementRow): Record<string, string | number> {
  const { line: _line, rowKey: _rowKey, ...fields } = row
  return fields
}

function paylithSide (payment: Payment): NonNullable<Discrepancy['paylith']> {
  return { paymentId: payment.id, amount: payment.amount, currency: payment.currency, status: payment.status }
}
