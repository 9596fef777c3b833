import type { Logger } from 'pino'
import type { Deps } from '../deps.js'

/**
 * Turns on AWS X-Ray tracing of the SDK clients with Powertools Tracer. Called at init only
 * when TRACING is on; the tracer (and the X-Ray SDK under it) is imported then, so a function
 * without tracing never loads it. Responses and errors are not captured into traces, so no
 * payment data leaves in them. With the SDK calls traced, SQS carries the trace header
 * (AWSTraceHeader) to the consumer, so a payment's path reads as one trace. The SQS client is
 * built on its first use, and traced as it is built.
 */
export async function enableTracing (clients: Pick<Deps, 'dynamodb' | 'sqs'>, logger: Logger): Promise<void> {
  process.env.POWERTOOLS_TRACER_CAPTURE_RESPONSE = 'false'
  process.env.POWERTOOLS_TRACER_CAPTURE_ERROR = 'false'
  const { Tracer } = await import('@aws-lambda-powertools/tracer')
  const tracer = new Tracer({ serviceName: 'paylith', captureHTTPsRequests: false })
  tracer.captureAWSv3Client(clients.dynamodb)
  // The SQS client is built on first use; it is traced from then on.
  clients.sqs.onCreate((sqs) => tracer.captureAWSv3Client(sqs))
  logger.info('X-Ray tracing is on for DynamoDB and SQS calls')
}
