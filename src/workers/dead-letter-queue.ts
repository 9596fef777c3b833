import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch'
import type { SQSRecord } from 'aws-lambda'
import pLimit from 'p-limit'
import type { Logger } from 'pino'
import { withLogContext } from '../observability/logger.js'
import { MetricName, type Metrics } from '../observability/metrics.js'
import { deadLetterOf, type DeadLetter, type DeadLetterStore } from '../store/dead-letters.js'
import type { SqsWorker } from './types.js'

/**
 * The dead-letter-queue worker: every message that exhausted its receives (or every stream
 * batch that exhausted its retries) becomes a dead-letter record, once per message id, with an
 * alert metric and an error log line. Admin routes list and redrive them.
 */
export function createDeadLetterWorker (deps: { deadLetters: DeadLetterStore, metrics: Metrics, logger: Logger, clock: () => Date }, sourceQueueName: string, concurrency: number): SqsWorker {
  const limit = pLimit(concurrency)
  const handleRecord = async (record: SQSRecord, recorded: Record<DeadLetter['kind'], number>): Promise<void> => {
    await withLogContext({ messageId: record.messageId }, async () => {
      const streamBatch = isStreamBatchFailure(record.body)
      const sourceArn = (record.attributes as unknown as Record<string, string | undefined>).DeadLetterQueueSourceArn
      const stored = await deps.deadLetters.recordOnce(deadLetterOf(record, {
        sourceQueue: streamBatch ? 'stream' : sourceArn?.split(':').pop() ?? sourceQueueName,
        deadLetteredAt: deps.clock().toISOString(),
        kind: streamBatch ? 'stream-batch' : 'message'
      }))
      if (!stored) return
      recorded[streamBatch ? 'stream-batch' : 'message'] += 1
      deps.logger.error({ kind: streamBatch ? 'stream-batch' : 'message', receiveCount: record.attributes.ApproximateReceiveCount }, 'dead letter: a message exhausted its retries')
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
