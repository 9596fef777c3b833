import type { DynamoDBRecord } from 'aws-lambda'
import type { Deps } from '../deps.js'
import { withLogContext } from '../observability/logger.js'
import { itemKindOf, primaryKeyOf } from '../store/table.js'
import type { StreamWorker } from './types.js'

/** Reacts to one change of the table; throwing stops the batch at this record. */
export type ChangeHandler = (record: DynamoDBRecord) => Promise<void>

/**
 * The table-stream worker: records are handled one by one, in stream order, by the handler
 * registered for the changed item's kind (the `pk` prefix before `#`). The first failure
 * stops the batch and its sequence number is reported, so Lambda (or the local poller)
 * retries from there and nothing after it counts as done.
 */
export function createTableStreamWorker (deps: Pick<Deps, 'logger'>, handlers: Readonly<Record<string, ChangeHandler>>): StreamWorker {
  return async (event) => {
    for (const record of event.Records) {
      const sequenceNumber = record.dynamodb?.SequenceNumber
      const handler = handlers[itemKind(record)]
      if (handler === undefined) continue
      try {
        await withLogContext({ sequenceNumber }, () => handler(record))
      } catch (error) {
        deps.logger.error({ err: error, sequenceNumber, eventName: record.eventName }, 'stream record failed')
        return { batchItemFailures: [{ itemIdentifier: sequenceNumber ?? '' }] }
      }
    }
    return { batchItemFailures: [] }
  }
}

/** The kind of item a record changed: `PAYMENT` for `pk = PAYMENT#...`. */
export function itemKind (record: DynamoDBRecord): string {
  return itemKindOf(primaryKeyOf(record.dynamodb?.Keys).pk ?? '')
}
