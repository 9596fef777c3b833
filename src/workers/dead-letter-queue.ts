import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch'
import type { SQSRecord } from 'aws-lambda'
import type { Logger } from 'pino'
import { withLogContext } from '../logger.js'
import { MetricName, type Metrics } from '../metrics.js'
import type { DeadLetterStore } from '../store/dead-letters.js'
import type { SqsWorker } from './types.js'
import { createLimiter } from './work-queue.js'

/**
 * The dead-letter-queue worker: every message that exhausted its receives (or every stream
 * batch that exhausted its retries) becomes a dead-letter record, once per message id, with an
 * alert metric and an error log line. Admin routes list and redrive them.
 */
export function createDeadLetterWorker (deps: { deadLetters: DeadLetterStore, metrics: Metrics, logger: Logger, clock: () => Date }, sourceQueueName: string, concurrency: number): SqsWorker {
  const limit = createLimiter(concurrency)
  const handleRecord = async (record: SQSRecord): Promise<void> => {
    await withLogContext({ messageId: record.messageId }, async () => {
      const streamBatch = isStreamBatchFailure(record.body)
      const sourceArn = (record.attributes as unknown as Record<string, string | undefined>).DeadLetterQueueSourceArn
      const stored = await deps.deadLetters.recordOnce({
        messageId: record.messageId,
        body: record.body,
        attributes: { ...record.attributes } as unknown as Record<string, string>,
        messageAttributes: record.messageAttributes,
        sourceQueue: streamBatch ? 'stream' : sourceArn?.split(':').pop() ?? sourceQueueName,
        receiveCount: Number(record.attributes.ApproximateReceiveCount ?? 0),
        deadLetteredAt: deps.clock().toISOString(),
        kind: streamBatch ? 'stream-batch' : 'message',
        status: 'open'
      })
      if (!stored) return
      deps.metrics.count(MetricName.deadLetters, { kind: streamBatch ? 'stream-batch' : 'message' })
      deps.logger.error({ kind: streamBatch ? 'stream-batch' : 'message', receiveCount: record.attributes.ApproximateReceiveCount }, 'dead letter: a message exhausted its retries')
    })
  }
  return async (event, context) => processPartialResponse(event, (record: SQSRecord) => limit(() => handleRecord(record)), new BatchProcessor(EventType.SQS), { context, throwOnFullBatchFailure: false })
}

function isStreamBatchFailure (body: string): boolean {
  try {
    const value = JSON.parse(body) as { DDBStreamBatchInfo?: unknown }
    return typeof value === 'object' && value !== null && value.DDBStreamBatchInfo !== undefined
  } catch {
    return false
  }
}
