import type { AttributeValue as LambdaAttributeValue, DynamoDBRecord } from 'aws-lambda'
import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import type { Logger } from 'pino'
import type { Payment } from '../domain/payment.js'
import type { SummaryStore } from '../store/summaries.js'
import { fromItem, isPaymentKey, isRefundKey, primaryKeyOf } from '../store/table.js'
import type { Refund } from '../domain/refund.js'
import type { StoredWebhookEvent } from '../store/webhooks.js'
import { WebhookEventType } from '../domain/webhooks/normalize.js'
import { CommandType, correlationIdOf } from '../queue/commands.js'
import type { WorkQueue } from '../queue/work-queue.js'
import type { ChangeHandler } from './table-stream.js'

/** The item a stream record carries after the change, without its keys. */
function newImage<T> (record: DynamoDBRecord): T | undefined {
  return imageOf<T>(record.dynamodb?.NewImage)
}

/** The item a stream record carries before the change, without its keys. */
function oldImage<T> (record: DynamoDBRecord): T | undefined {
  return imageOf<T>(record.dynamodb?.OldImage)
}

function imageOf<T> (image: Record<string, LambdaAttributeValue> | undefined): T | undefined {
  if (image === undefined) return undefined
  return fromItem<T>(image as Record<string, AttributeValue> & Record<string, LambdaAttributeValue>)
}

/** Whether a stream record changed a payment without a new version (attention, the sweeper's re-sends): nothing to relay or count. */
function isSameVersion (record: DynamoDBRecord): boolean {
  const { OldImage, NewImage } = record.dynamodb ?? {}
  return record.eventName === 'MODIFY' && OldImage?.version?.N !== undefined && OldImage.version.N === NewImage?.version?.N
}

/**
 * Payment changes: a new pending payment is relayed to the work queue as a `charge` command
 * (the table is the outbox: the route never sends to SQS itself), and every version of a
 * payment is counted into its customer's summary. An update that made no new version is skipped.
 * A new pending refund (an item of the payment's partition) is relayed as a `refund` command.
 */
export function createPaymentChangeHandler (deps: { workQueue: Pick<WorkQueue, 'send'>, summaries: SummaryStore, logger: Logger }): ChangeHandler {
  return async (record) => {
    if (isRefundKey(primaryKeyOf(record.dynamodb?.Keys))) return relayRefund(deps, record)
    if (!isPaymentKey(primaryKeyOf(record.dynamodb?.Keys)) || record.eventName === 'REMOVE' || isSameVersion(record)) return
    const payment = newImage<Payment>(record)
    if (payment === undefined) return
    if (record.eventName === 'INSERT' && payment.status === 'pending') {
      await deps.workQueue.send({ type: CommandType.charge, paymentId: payment.id })
      deps.logger.info({ paymentId: payment.id }, 'outbox: charge command sent')
    }
    // The old image is what the summary most likely counts now, so it moves in one write.
    await deps.summaries.apply(payment, record.eventName === 'INSERT' ? null : oldImage<Payment>(record))
  }
}

/** A new pending refund started through the API is relayed as a `refund` command; one the provider told us of needs no call. */
async function relayRefund (deps: { workQueue: Pick<WorkQueue, 'send'>, logger: Logger }, record: DynamoDBRecord): Promise<void> {
  if (record.eventName !== 'INSERT') return
  const refund = newImage<Refund>(record)
  if (refund === undefined || refund.status !== 'pending' || refund.origin === 'provider') return
  await deps.workQueue.send({ type: CommandType.refund, paymentId: refund.paymentId, refundId: refund.id })
  deps.logger.info({ paymentId: refund.paymentId, refundId: refund.id }, 'outbox: refund command sent')
}

/** Webhook events: each new event we act on is relayed to the work queue as `apply-webhook`. */
export function createWebhookChangeHandler (deps: { workQueue: Pick<WorkQueue, 'send'>, logger: Logger }): ChangeHandler {
  return async (record) => {
    if (record.eventName !== 'INSERT') return
    const event = newImage<StoredWebhookEvent>(record)
    if (event === undefined || event.type === WebhookEventType.ignored) return
    const command = { type: CommandType.applyWebhook, provider: event.provider, eventId: event.eventId } as const
    await deps.workQueue.send(command, event.paymentId ?? correlationIdOf(command))
    deps.logger.info({ provider: event.provider, eventId: event.eventId, paymentId: event.paymentId }, 'outbox: apply-webhook command sent')
  }
}
