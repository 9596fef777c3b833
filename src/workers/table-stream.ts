import type { DynamoDBRecord } from 'aws-lambda'
import type { Logger } from 'pino'
import { lowestSequenceNumber } from '../lib/sequence-numbers.js'
import { withLogContext } from '../observability/logger.js'
import { MetricName, type Metrics } from '../observability/metrics.js'
import { ItemKind, itemKindOf, primaryKeyOf } from '../store/table.js'
import type { StreamWorker } from './types.js'

/** Reacts to one change of the table; throwing fails the record, and its item's later records are not run. */
export type ChangeHandler = (record: DynamoDBRecord) => Promise<void>

/** How the worker runs a batch. */
export interface TableStreamOptions {
  /** Items whose records are in flight at once; 1 handles the batch one record at a time, in stream order. */
  concurrency: number
}

/**
 * The table-stream worker: each record goes to the handler registered for the changed item's
 * kind (the `pk` prefix before `#`). Records of different items (table keys) run concurrently,
 * at most `concurrency` items at a time; the records of one item run one after the other, in
 * stream order. A batch is one shard's records in stream order, so a record's place in it
 * orders it as its sequence number does.
 *
 * On a failure, the lowest failed sequence number is reported, the one batch item failure
 * Lambda (and the local poller) checkpoints before: everything from it on is delivered again,
 * including other items' records that succeeded, so every handler is idempotent. Once a
 * failure is known, no record after it starts (it would run again on the redelivery anyway);
 * records before it still run, so that they count as done; records already started finish.
 */
export function createTableStreamWorker (
  deps: { logger: Logger, metrics?: Pick<Metrics, 'count'> },
  handlers: Readonly<Record<string, ChangeHandler>>,
  options: TableStreamOptions
): StreamWorker {
  const concurrency = Math.max(1, options.concurrency)
  return async (event) => {
    const records = event.Records
    const failed: DynamoDBRecord[] = []
    // The place in the batch of the lowest failure so far: nothing after it starts.
    let lowestFailure = Number.POSITIVE_INFINITY
    let notStarted = 0
    // Per item in flight, its records still to run (places in the batch, in stream order).
    const lanes = new Map<string, number[]>()
    const running = new Set<Promise<void>>()

    const runRecord = async (index: number, handler: ChangeHandler): Promise<void> => {
      const record = records[index] as DynamoDBRecord
      const paymentId = paymentIdOf(record)
      await withLogContext({ sequenceNumber: record.dynamodb?.SequenceNumber, ...(paymentId !== undefined && { paymentId }) }, async () => {
        try {
          await handler(record)
        } catch (error) {
          deps.logger.error({ err: error, eventName: record.eventName }, 'stream record failed')
          failed.push(record)
          lowestFailure = Math.min(lowestFailure, index)
        }
      })
    }
    // One item's records, one after the other (they all have the item's kind, so one handler).
    const runLane = async (key: string, queue: number[], handler: ChangeHandler): Promise<void> => {
      for (let index = queue.shift(); index !== undefined; index = queue.shift()) {
        // After a failure of this item or an earlier record of another one: delivered again.
        if (index > lowestFailure) notStarted++
        else await runRecord(index, handler)
      }
      lanes.delete(key)
    }

    for (let index = 0; index < records.length; index++) {
      const record = records[index] as DynamoDBRecord
      const handler = handlers[itemKind(record)]
      if (handler === undefined) continue
      const key = itemKey(record)
      const lane = lanes.get(key)
      if (lane !== undefined) {
        lane.push(index)
        continue
      }
      while (lanes.size >= concurrency) await Promise.race(running)
      if (index > lowestFailure) {
        notStarted += records.slice(index).filter((later) => handlers[itemKind(later)] !== undefined).length
        break
      }
      const queue = [index]
      lanes.set(key, queue)
      const done: Promise<void> = runLane(key, queue, handler).finally(() => running.delete(done))
      running.add(done)
    }
    await Promise.all(running)

    if (failed.length === 0) return { batchItemFailures: [] }
    const sequenceNumbers = failed.flatMap((record) => record.dynamodb?.SequenceNumber ?? [])
    // Without a sequence number there is no checkpoint to name: an empty identifier fails the whole batch.
    const itemIdentifier = sequenceNumbers.length === failed.length ? lowestSequenceNumber(sequenceNumbers) ?? '' : ''
    deps.metrics?.count(MetricName.batchItemFailures, { source: 'table-stream' }, failed.length)
    deps.logger.warn({ itemIdentifier, failed: failed.length, notStarted }, 'stream batch failed: redelivered from the lowest failed record')
    return { batchItemFailures: [{ itemIdentifier }] }
  }
}

/** The kind of item a record changed: `PAYMENT` for `pk = PAYMENT#...`. */
export function itemKind (record: DynamoDBRecord): string {
  return itemKindOf(primaryKeyOf(record.dynamodb?.Keys).pk ?? '')
}

/** The changed item's table key (pk and sk): the unit within which stream order is kept. */
function itemKey (record: DynamoDBRecord): string {
  const { pk, sk } = primaryKeyOf(record.dynamodb?.Keys)
  return JSON.stringify([pk, sk])
}

/** The payment a record is about, where it says: a payment's own items, or the `paymentId` of its image. */
function paymentIdOf (record: DynamoDBRecord): string | undefined {
  const { pk = '' } = primaryKeyOf(record.dynamodb?.Keys)
  if (itemKindOf(pk) === ItemKind.payment) return pk.slice(ItemKind.payment.length + 1)
  return record.dynamodb?.NewImage?.paymentId?.S
}
