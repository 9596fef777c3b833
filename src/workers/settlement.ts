import type { Readable } from 'node:stream'
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda'
import type { Logger } from 'pino'
import type { SettlementFiles } from '../aws/s3.js'
import { SETTLEMENT_BUCKET } from '../aws/resources.js'
import { SettlementFileError } from '../domain/errors.js'
import type { IdGenerator } from '../domain/ids.js'
import type { Payment } from '../domain/payment.js'
import {
  CLASSIFICATIONS,
  Classification,
  addToTotals,
  classify,
  isMalformed,
  type CurrencyTotals,
  type MalformedRow,
  type SettlementRow
} from '../domain/settlements/reconcile.js'
import { isObject } from '../lib/is-object.js'
import { withLogContext } from '../observability/logger.js'
import { MetricName, type Metrics } from '../observability/metrics.js'
import { isSettlementFormat, readSettlementRows, type SettlementFormat } from '../settlements/read-rows.js'
import type { Discrepancy, Settlement, SettlementStore } from '../store/settlements.js'
import type { SqsWorker } from './types.js'

/** What the settlement worker needs. */
export interface SettlementWorkerDeps {
  files: SettlementFiles
  settlements: SettlementStore
  newId: IdGenerator
  metrics: Metrics
  logger: Logger
  clock: () => Date
}

/** How the worker reconciles: rows looked up per batch, batches in flight at once, progress written every so many rows. */
export interface SettlementWorkerOptions {
  lookupBatch: number
  concurrency: number
  progressEvery: number
}

/** The defaults: BatchGetItem's 100 keys, four lookups in flight, progress every 10,000 rows. */
export const SETTLEMENT_WORKER_DEFAULTS: SettlementWorkerOptions = { lookupBatch: 100, concurrency: 4, progressEvery: 10_000 }

/** A readable row seen earlier in the same file. */
interface DuplicateRow {
  line: number
  duplicate: SettlementRow
}

/** A row as the parse hands it to the lookups. */
type ParsedRow = SettlementRow | MalformedRow | DuplicateRow

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

/**
 * The settlement worker: for each file created under `settlements/<provider>/`, streams it,
 * reconciles every row against the payments (looked up in batches, a bounded number at once,
 * the parse waiting on them), and stores the settlement with its counts, totals and
 * discrepancies. A redelivered message finds its file already claimed: a finished settlement
 * is left as it is, an unfinished one is run again from the start and overwritten, so nothing
 * counts twice. A file that cannot be read at all ends `failed`; an S3 or DynamoDB failure is a
 * batch item failure, retried, then kept in the settlement dead-letter queue.
 */
export function createSettlementWorker (deps: SettlementWorkerDeps, options: SettlementWorkerOptions = SETTLEMENT_WORKER_DEFAULTS): SqsWorker {
  const handleRecord = async (record: SQSRecord): Promise<void> => {
    await withLogContext({ messageId: record.messageId }, async () => {
      for (const object of createdObjectsOf(record.body)) {
        if (object.bucket !== deps.files.bucketName || !object.key.startsWith(SETTLEMENT_BUCKET.filesPrefix)) {
          deps.logger.warn({ bucket: object.bucket, key: object.key }, 'a settlement notification for an object outside settlements/ of the settlement bucket: ignored')
          continue
        }
        await reconcileObject(object)
      }
    })
  }

  const reconcileObject = async (object: CreatedObject): Promise<void> => {
    let id = deps.newId()
    const claim = await deps.settlements.claimFile(object, id)
    if (!claim.claimed) {
      id = claim.settlementId
      if (claim.settlement !== undefined && claim.settlement.status !== 'processing') {
        deps.logger.info({ settlementId: id, key: object.key, status: claim.settlement.status }, 'settlement file delivered again; already reconciled')
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
      startedAt: deps.clock().toISOString()
    }
    await deps.settlements.save(settlement)
    try {
      if (!isSettlementFormat(provider)) throw new SettlementFileError(`unknown provider "${provider}" in the key: expected settlements/generic/... or settlements/stripe/...`)
      const body = await deps.files.open(object.key)
      await reconcileRows(settlement, body, provider)
      settlement.status = 'completed'
    } catch (error) {
      if (!isFileProblem(error)) throw error
      settlement.status = 'failed'
      settlement.error = (error as Error).message
    }
    settlement.completedAt = deps.clock().toISOString()
    await deps.settlements.save(settlement)
    deps.metrics.count(MetricName.settlementRows, { provider }, settlement.rowsProcessed)
    const discrepancies = CLASSIFICATIONS.filter((classification) => classification !== Classification.matched).reduce((sum, classification) => sum + settlement.counts[classification], 0)
    if (discrepancies > 0) deps.metrics.count(MetricName.settlementDiscrepancies, { provider }, discrepancies)
    deps.logger.info({ settlementId: id, key: object.key, status: settlement.status, rows: settlement.rowsProcessed, counts: settlement.counts }, 'settlement file reconciled')
  }

  const reconcileRows = async (settlement: Settlement, body: Readable, format: SettlementFormat): Promise<void> => {
    const totals = new Map<string, CurrencyTotals>()
    const seen = new Set<string>()
    const inFlight = new Set<Promise<void>>()
    let failure: unknown
    let batch: ParsedRow[] = []
    let sinceProgress = 0
    const flush = async (rows: ParsedRow[]): Promise<void> => {
      const discrepancies = await reconcileBatch(rows)
      for (const discrepancy of discrepancies) settlement.counts[discrepancy.classification]++
      settlement.counts.matched += rows.length - discrepancies.length
      await deps.settlements.putDiscrepancies(settlement.id, discrepancies)
    }
    const start = (rows: ParsedRow[]): void => {
      const running = flush(rows).catch((error: unknown) => { failure ??= error }).finally(() => inFlight.delete(running))
      inFlight.add(running)
    }
    for await (const row of readSettlementRows(body, { key: settlement.fileKey, format })) {
      if (failure !== undefined) break
      settlement.rowsProcessed++
      if (!isMalformed(row)) {
        // Duplicates are told in file order, before the lookups run out of order.
        if (seen.has(row.rowKey)) {
          batch.push({ line: row.line, duplicate: row })
        } else {
          seen.add(row.rowKey)
          addToTotals(totals, row)
          batch.push(row)
        }
      } else {
        batch.push(row)
      }
      if (batch.length >= options.lookupBatch) {
        start(batch)
        batch = []
        // Back-pressure: the parse waits while the lookups are at their bound.
        while (inFlight.size >= options.concurrency) await Promise.race(inFlight)
      }
      if (++sinceProgress >= options.progressEvery) {
        sinceProgress = 0
        await Promise.all(inFlight)
        settlement.totals = [...totals.values()]
        await deps.settlements.save(settlement)
      }
    }
    if (batch.length > 0) start(batch)
    await Promise.all(inFlight)
    if (failure !== undefined) throw failure
    settlement.totals = [...totals.values()]
  }

  /** The discrepancies of one batch of rows (the matched rows are the rest). */
  const reconcileBatch = async (rows: ParsedRow[]): Promise<Discrepancy[]> => {
    const readable = rows.filter((row): row is SettlementRow => 'rowKey' in row)
    const byRef = await deps.settlements.paymentIdsByRef(readable.filter((row) => row.paymentId === undefined && row.providerRef !== undefined).map((row) => row.providerRef as string))
    const paymentIdOf = (row: SettlementRow): string | undefined => row.paymentId ?? (row.providerRef === undefined ? undefined : byRef.get(row.providerRef))
    const payments = await deps.settlements.paymentsById(readable.map(paymentIdOf).filter((id): id is string => id !== undefined))
    const discrepancies: Discrepancy[] = []
    for (const row of rows) {
      if ('duplicate' in row) {
        discrepancies.push({ line: row.line, classification: Classification.duplicateRow, reason: 'the same row appears earlier in the file', file: rowFields(row.duplicate) })
        continue
      }
      if (isMalformed(row)) {
        discrepancies.push({ line: row.line, classification: Classification.malformedRow, reason: row.error, file: row.fields })
        continue
      }
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

  return async (event) => {
    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = []
    // One file at a time: each is long, and memory stays bounded by one file's batches.
    for (const record of event.Records) {
      try {
        await handleRecord(record)
      } catch (error) {
        deps.logger.error({ err: error, messageId: record.messageId }, 'settlement message failed; it will be retried')
        batchItemFailures.push({ itemIdentifier: record.messageId })
      }
    }
    return { batchItemFailures }
  }
}

function emptyCounts (): Record<Classification, number> {
  return Object.fromEntries(CLASSIFICATIONS.map((classification) => [classification, 0])) as Record<Classification, number>
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
