import type { Logger } from 'pino'

/** Every metric paylith emits, by name. */
export const MetricName = {
  paymentCreated: 'PaymentCreated',
  paymentSucceeded: 'PaymentSucceeded',
  paymentFailed: 'PaymentFailed',
  webhookAccepted: 'WebhookAccepted',
  webhookRejected: 'WebhookRejected',
  webhookDuplicate: 'WebhookDuplicate',
  batchItemFailures: 'BatchItemFailures',
  circuitOpened: 'CircuitOpened',
  deadLetters: 'DeadLetters'
} as const

/** One metric name. */
export type MetricName = (typeof MetricName)[keyof typeof MetricName]

/** Counts things, as CloudWatch metrics. */
export interface Metrics {
  count: (name: MetricName, dimensions?: Record<string, string>, value?: number) => void
}

/** The CloudWatch namespace of paylith's metrics. */
export const METRICS_NAMESPACE = 'paylith'

/**
 * Metrics as CloudWatch Embedded Metric Format: one JSON log line per count, which CloudWatch
 * Logs turns into a metric with no API call and no flush to forget.
 * NOTE: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */
export function createMetrics (logger: Logger, clock: () => Date = () => new Date()): Metrics {
  return {
    count (name, dimensions = {}, value = 1) {
      logger.info({
        _aws: {
          Timestamp: clock().getTime(),
          CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Dimensions: [Object.keys(dimensions)], Metrics: [{ Name: name, Unit: 'Count' }] }]
        },
        ...dimensions,
        [name]: value
      }, `metric ${name}`)
    }
  }
}
