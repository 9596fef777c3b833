import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch'
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams'
import type { SQSRecord } from 'aws-lambda'
import pLimit from 'p-limit'
import type { Logger } from 'pino'
import { MalformedCommandError } from '../domain/errors.js'
import { PAYMENT_ID_PATTERN, REFUND_ID_PATTERN } from '../domain/ids.js'
import { AttentionReason, type Payment } from '../domain/payment.js'
import { withLogContext } from '../observability/logger.js'
import { MetricName, type Metrics } from '../observability/metrics.js'
import { CommandType, parseWorkCommand, type WorkCommand } from '../queue/commands.js'
import { deadLetterOf, type DeadLetter, type DeadLetterStore, type StreamBatch } from '../store/dead-letters.js'
import type { PaymentStore } from '../store/payments.js'
import type { RefundStore } from '../store/refunds.js'
import type { WebhookStore } from '../store/webhooks.js'
import { queueNameOf } from '../aws/resources.js'
import { readStreamRange } from '../aws/stream-records.js'
import type { SqsWorker } from './types.js'

/** What the dead-letter-queue worker needs. */
export interface DeadLetterWorkerDeps {
  deadLetters: DeadLetterStore
  payments: Pick<PaymentStore, 'get' | 'findByProviderRef' | 'flagAttention'>
  refunds: Pick<RefundStore, 'flagAttention'>
  webhooks: Pick<WebhookStore, 'get' | 'parkDeadLettered'>
  metrics: Metrics
  logger: Logger
  clock: () => Date
  /** Reads a discarded stream batch's records back from the stream (loaded on first use). */
  streams: () => Promise<DynamoDBStreamsClient>
  config: { aws: { region: string } }
}

const PAYMENT_ID = new RegExp(PAYMENT_ID_PATTERN)
/** Only a well-formed id is looked up: a command's body is not trusted to make a valid key. */
const isPaymentId = (value: string | undefined): value is string => value !== undefined && PAYMENT_ID.test(value)
const REFUND_ID = new RegExp(REFUND_ID_PATTERN)

/** The work command a dead-lettered message carries, if it reads as one (a stream batch's record, or a malformed body, does not). */
function commandOf (body: string): WorkCommand | undefined {
  try {
    return parseWorkCommand(body)
  } catch (error) {
    if (error instanceof MalformedCommandError) return undefined
    throw error
  }
}

/** The refund a `refund` command names (well-formed ids only), if the command is one. */
function refundOf (command: WorkCommand | undefined): { id: string, paymentId: string } | undefined {
  return command?.type === CommandType.refund && isPaymentId(command.paymentId) && REFUND_ID.test(command.refundId) ? { id: command.refundId, paymentId: command.paymentId } : undefined
}

/**
 * The dead-letter-queue worker: every message that exhausted its receives (or every stream
 * batch that exhausted its retries) becomes a dead-letter record, once per message id, with an
 * alert metric and an error log line. Admin routes list and redrive them. A command that names
 * a payment (a charge, a refund, or a webhook event for one) records its payment id, and the
 * payment, while still unsettled, says it needs attention and which dead letter tells why (a
 * refund still pending says so itself). A webhook event whose command dead-lettered naming no
 * payment paylith knows leaves the webhook safety net: re-sent, it would only dead-letter again
 * (each time alerting), so this dead letter is its one record, to redrive or close. A stream
 * batch's on-failure record names only a sequence number range, so its records are read back
 * from the stream (which keeps them 24 hours) and kept with the dead letter, for a redrive.
 */
export function createDeadLetterWorker (deps: DeadLetterWorkerDeps, sourceQueueName: string, concurrency: number): SqsWorker {
  const limit = pLimit(concurrency)
  /** The existing payment a work command names, if any: for apply-webhook, through its stored event. */
  const paymentOf = async (command: WorkCommand | undefined): Promise<Payment | undefined> => {
    if (command === undefined) return undefined
    if (command.type !== CommandType.applyWebhook) return isPaymentId(command.paymentId) ? deps.payments.get(command.paymentId) : undefined
    const event = await deps.webhooks.get(command.provider, command.eventId)
    if (isPaymentId(event?.paymentId)) return deps.payments.get(event.paymentId)
    return event?.providerRef === undefined ? undefined : deps.payments.findByProviderRef(event.providerRef)
  }
  /**
   * What an open dead letter asks of what its command names: the payment (and a refund still
   * pending) flagged with it, or, for a webhook event naming no payment paylith knows, the event
   * parked out of the safety net.
   */
  const followUp = async (command: WorkCommand | undefined, payment: Payment | undefined, { since, deadLetterId }: { since: string, deadLetterId: string }): Promise<void> => {
    if (payment !== undefined) {
      const attention = { reason: AttentionReason.deadLettered, since, deadLetterId }
      await deps.payments.flagAttention(payment, attention)
      const refund = refundOf(command)
      if (refund !== undefined) await deps.refunds.flagAttention(refund, attention)
      return
    }
    if (command?.type !== CommandType.applyWebhook) return
    if (await deps.webhooks.parkDeadLettered(command.provider, command.eventId, deadLetterId, deps.clock())) {
      deps.logger.warn({ provider: command.provider, eventId: command.eventId }, 'dead letter: the webhook event names no payment paylith knows; the safety net stops re-sending it, this dead letter is its record')
    }
  }
  const handleRecord = async (record: SQSRecord, recorded: Record<DeadLetter['kind'], number>): Promise<void> => {
    await withLogContext({ messageId: record.messageId }, async () => {
      const batchInfo = streamBatchInfoOf(record.body)
      const streamBatch = batchInfo !== undefined
      const sourceArn = (record.attributes as unknown as Record<string, string | undefined>).DeadLetterQueueSourceArn
      const command = streamBatch ? undefined : commandOf(record.body)
      const payment = await paymentOf(command)
      const deadLetteredAt = deps.clock().toISOString()
      const stored = await deps.deadLetters.recordOnce(deadLetterOf(record, {
        sourceQueue: streamBatch ? 'stream' : (sourceArn === undefined ? sourceQueueName : queueNameOf(sourceArn)),
        deadLetteredAt,
        kind: streamBatch ? 'stream-batch' : 'message',
        ...(payment !== undefined && { paymentId: payment.id }),
        ...(batchInfo !== undefined && { streamBatch: await readBack(batchInfo, record.messageId) })
      }))
      // Done after the record exists, and again on a redelivery while it is open (it may have
      // failed after the record was written): it names this dead letter once.
      if (payment !== undefined || command?.type === CommandType.applyWebhook) {
        const earlier = stored ? undefined : await deps.deadLetters.get(record.messageId)
        if (stored || earlier?.status === 'open') await followUp(command, payment, { since: earlier?.deadLetteredAt ?? deadLetteredAt, deadLetterId: record.messageId })
      }
      if (!stored) return
      recorded[streamBatch ? 'stream-batch' : 'message'] += 1
      deps.logger.error({ kind: streamBatch ? 'stream-batch' : 'message', receiveCount: record.attributes.ApproximateReceiveCount, ...(payment !== undefined && { paymentId: payment.id }) }, 'dead letter: a message exhausted its retries')
    })
  }
  /** The discarded batch with its records, unless already recorded (a redelivery reads nothing again). */
  const readBack = async (info: StreamBatch, messageId: string): Promise<StreamBatch> => {
    const earlier = await deps.deadLetters.get(messageId)
    if (earlier?.streamBatch !== undefined) return earlier.streamBatch
    if (info.streamArn === undefined) return { ...info, unavailable: 'the on-failure record names no stream' }
    if (!/^\d+$/.test(info.startSequenceNumber) || !/^\d+$/.test(info.endSequenceNumber)) return { ...info, unavailable: 'the on-failure record names no sequence number range' }
    const read = await readStreamRange(deps.streams, { ...info, streamArn: info.streamArn }, deps.config.aws.region)
    if ('unavailable' in read) deps.logger.error({ shardId: info.shardId, startSequenceNumber: info.startSequenceNumber, reason: read.unavailable }, 'dead letter: a discarded stream batch\'s records could not be read back')
    return { ...info, ...read }
  }
  return async (event, context) => {
    const recorded = { message: 0, 'stream-batch': 0 }
    const response = await processPartialResponse(event, (record: SQSRecord) => limit(() => handleRecord(record, recorded)), new BatchProcessor(EventType.SQS), { context, throwOnFullBatchFailure: false })
    // One alert metric line per kind and batch, with the count, rather than one per record.
    for (const [kind, count] of Object.entries(recorded)) if (count > 0) deps.metrics.count(MetricName.deadLetters, { kind }, count)
    return response
  }
}

/** The range a stream mapping's on-failure record names (Lambda's `DDBStreamBatchInfo`), if the body is one. */
function streamBatchInfoOf (body: string): StreamBatch | undefined {
  if (!body.includes('DDBStreamBatchInfo')) return undefined
  let info: unknown
  try {
    info = (JSON.parse(body) as { DDBStreamBatchInfo?: unknown }).DDBStreamBatchInfo
  } catch {
    return undefined
  }
  if (typeof info !== 'object' || info === null) return undefined
  const { streamArn, shardId, startSequenceNumber, endSequenceNumber, batchSize } = info as Record<string, unknown>
  const text = (value: unknown): string => typeof value === 'string' ? value : ''
  return {
    ...(typeof streamArn === 'string' && { streamArn }),
    shardId: text(shardId),
    startSequenceNumber: text(startSequenceNumber),
    endSequenceNumber: text(endSequenceNumber),
    batchSize: typeof batchSize === 'number' ? batchSize : 0
  }
}
