import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch'
import type { SQSRecord } from 'aws-lambda'
import pLimit from 'p-limit'
import type { Logger } from 'pino'
import { MalformedCommandError } from '../domain/errors.js'
import { PAYMENT_ID_PATTERN } from '../domain/ids.js'
import { AttentionReason, type Payment } from '../domain/payment.js'
import { withLogContext } from '../observability/logger.js'
import { MetricName, type Metrics } from '../observability/metrics.js'
import { CommandType, parseWorkCommand, type WorkCommand } from '../queue/commands.js'
import { deadLetterOf, type DeadLetter, type DeadLetterStore } from '../store/dead-letters.js'
import type { PaymentStore } from '../store/payments.js'
import type { WebhookStore } from '../store/webhooks.js'
import { queueNameOf } from '../aws/resources.js'
import type { SqsWorker } from './types.js'

/** What the dead-letter-queue worker needs. */
export interface DeadLetterWorkerDeps {
  deadLetters: DeadLetterStore
  payments: Pick<PaymentStore, 'get' | 'findByProviderRef' | 'flagAttention'>
  webhooks: Pick<WebhookStore, 'get'>
  metrics: Metrics
  logger: Logger
  clock: () => Date
}

const PAYMENT_ID = new RegExp(PAYMENT_ID_PATTERN)
/** Only a well-formed id is looked up: a command's body is not trusted to make a valid key. */
const isPaymentId = (value: string | undefined): value is string => value !== undefined && PAYMENT_ID.test(value)

/**
 * The dead-letter-queue worker: every message that exhausted its receives (or every stream
 * batch that exhausted its retries) becomes a dead-letter record, once per message id, with an
 * alert metric and an error log line. Admin routes list and redrive them. A command that names
 * a payment (a charge, or a webhook event for one) records its payment id, and the payment,
 * while still unsettled, says it needs attention and which dead letter tells why.
 */
export function createDeadLetterWorker (deps: DeadLetterWorkerDeps, sourceQueueName: string, concurrency: number): SqsWorker {
  const limit = pLimit(concurrency)
  /** The existing payment a work command names, if any: for apply-webhook, through its stored event. */
  const paymentOf = async (body: string): Promise<Payment | undefined> => {
    let command: WorkCommand
    try {
      command = parseWorkCommand(body)
    } catch (error) {
      if (error instanceof MalformedCommandError) return undefined
      throw error
    }
    if (command.type === CommandType.charge) return isPaymentId(command.paymentId) ? deps.payments.get(command.paymentId) : undefined
    const event = await deps.webhooks.get(command.provider, command.eventId)
    if (isPaymentId(event?.paymentId)) return deps.payments.get(event.paymentId)
    return event?.providerRef === undefined ? undefined : deps.payments.findByProviderRef(event.providerRef)
  }
  const handleRecord = async (record: SQSRecord, recorded: Record<DeadLetter['kind'], number>): Promise<void> => {
    await withLogContext({ messageId: record.messageId }, async () => {
      const streamBatch = isStreamBatchFailure(record.body)
      const sourceArn = (record.attributes as unknown as Record<string, string | undefined>).DeadLetterQueueSourceArn
      const payment = streamBatch ? undefined : await paymentOf(record.body)
      const deadLetteredAt = deps.clock().toISOString()
      const stored = await deps.deadLetters.recordOnce(deadLetterOf(record, {
        sourceQueue: streamBatch ? 'stream' : (sourceArn === undefined ? sourceQueueName : queueNameOf(sourceArn)),
        deadLetteredAt,
        kind: streamBatch ? 'stream-batch' : 'message',
        ...(payment !== undefined && { paymentId: payment.id })
      }))
      // Flagged after the record exists, and again on a redelivery while it is open (the flag
      // may have failed after the record was written): the flag names this dead letter once.
      if (payment !== undefined) {
        const earlier = stored ? undefined : await deps.deadLetters.get(record.messageId)
        if (stored || earlier?.status === 'open') {
          await deps.payments.flagAttention(payment, { reason: AttentionReason.deadLettered, since: earlier?.deadLetteredAt ?? deadLetteredAt, deadLetterId: record.messageId })
        }
      }
      if (!stored) return
      recorded[streamBatch ? 'stream-batch' : 'message'] += 1
      deps.logger.error({ kind: streamBatch ? 'stream-batch' : 'message', receiveCount: record.attributes.ApproximateReceiveCount, ...(payment !== undefined && { paymentId: payment.id }) }, 'dead letter: a message exhausted its retries')
    })
  }
  return async (event, context) => {
    const recorded = { message: 0, 'stream-batch': 0 }
    const response = await processPartialResponse(event, (record: SQSRecord) => limit(() => handleRecord(record, recorded)), new BatchProcessor(EventType.SQS), { context, throwOnFullBatchFailure: false })
    // One alert metric line per kind and batch, with the count, rather than one per record.
    for (const [kind, count] of Object.entries(recorded)) if (count > 0) deps.metrics.count(MetricName.deadLetters, { kind }, count)
    return response
  }
}

function isStreamBatchFailure (body: string): boolean {
  if (!body.includes('DDBStreamBatchInfo')) return false
  try {
    const value = JSON.parse(body) as { DDBStreamBatchInfo?: unknown }
    return typeof value === 'object' && value !== null && value.DDBStreamBatchInfo !== undefined
  } catch {
    return false
  }
}
