/** Every metric paylith emits, by name. */
export const MetricName = {
  paymentCreated: 'PaymentCreated',
  paymentSucceeded: 'PaymentSucceeded',
  paymentFailed: 'PaymentFailed',
  /** A pending payment was canceled through the API (one per cancel; an idempotent replay counts nothing). */
  paymentCanceled: 'PaymentCanceled',
  /** A refund was created (pending): one document per refund. */
  refundCreated: 'RefundCreated',
  /** A refund succeeded at the provider (or was learnt of from its webhook). */
  refundSucceeded: 'RefundSucceeded',
  /** A refund failed at the provider; its reservation was released. */
  refundFailed: 'RefundFailed',
  webhookAccepted: 'WebhookAccepted',
  webhookRejected: 'WebhookRejected',
  webhookDuplicate: 'WebhookDuplicate',
  batchItemFailures: 'BatchItemFailures',
  circuitOpened: 'CircuitOpened',
  /** A charge was given back to the queue for later while the breaker was open (dimension `reason`). */
  chargeDeferred: 'ChargeDeferred',
  /** A refund was given back to the queue for later while the breaker was open (dimension `reason`). */
  refundDeferred: 'RefundDeferred',
  /** The provider refused a charge as misconfigured (a bad key, a refused parameter, an idempotency key reused): a person must look (dimension `provider`). */
  providerMisconfigured: 'ProviderMisconfigured',
  deadLetters: 'DeadLetters',
  /** The sweeper re-sent a payment's charge command. */
  chargesResent: 'ChargesResent',
  /** The webhook safety net re-sent the apply-webhook command of a stored event never applied (value: how many in one run). */
  webhooksResent: 'WebhooksResent',
  /** The webhook safety net stopped re-sending a stored event still not applied after its last re-send (value: how many in one run). */
  webhooksGivenUp: 'WebhooksGivenUp',
  /** A payment newly says it needs a person (dimension `reason`: an attention reason). */
  paymentsNeedAttention: 'PaymentsNeedAttention',
  /** The sweeper re-sent a pending refund's refund command. */
  refundsResent: 'RefundsResent',
  /** A pending refund newly says it needs a person (dimension `reason`: an attention reason). */
  refundsNeedAttention: 'RefundsNeedAttention',
  /**
   * DynamoDB refused a write for a transient reason (dimensions `operation`, `reason`: a
   * cancellation reason such as `ThrottlingError`, or `TransactionConflictException`; `outcome`:
   * `retried`, or `gave-up` when the tries ran out).
   */
  dynamoDbThrottled: 'DynamoDbThrottled',
  /**
   * A secret could not be read from Secrets Manager, or did not parse (dimensions `secret`:
   * `api-keys` or `webhook-secrets`; `fallback`: `cached` when the last good value stays in
   * use, `none` when there is none and requests needing it are answered 503).
   */
  secretUnavailable: 'SecretUnavailable',
  /** Rows of settlement files reconciled (dimension `provider`). */
  settlementRows: 'SettlementRows',
  /** Settlement rows that are not `matched` (dimension `provider`; the counts by classification are in the settlement and its log line). */
  settlementDiscrepancies: 'SettlementDiscrepancies',
  /** Local runs only: a fault LOCAL_FAULTS_FILE injected (dimension `fault`). */
  faultInjected: 'FaultInjected'
} as const

/** The secrets read from Secrets Manager, as the SecretUnavailable metric's `secret` dimension names them. */
export const SecretName = {
  apiKeys: 'api-keys',
  webhookSecrets: 'webhook-secrets'
} as const

/** One secret read from Secrets Manager. */
export type SecretName = (typeof SecretName)[keyof typeof SecretName]

/** What stays in use when a secret cannot be read (the `fallback` dimension): the last value read, or none. */
export const SecretFallback = {
  cached: 'cached',
  none: 'none'
} as const

/** One metric name. */
export type MetricName = (typeof MetricName)[keyof typeof MetricName]

/** Counts things, as CloudWatch metrics. */
export interface Metrics {
  /** Records one metric event: one EMF document whose value is `value`. */
  count: (name: MetricName, dimensions?: Record<string, string>, value?: number) => void
  /** Writes the documents recorded since the last flush; called where an invocation or request ends. */
  flush: () => void
}

/** The CloudWatch namespace of paylith's metrics. */
export const METRICS_NAMESPACE = 'paylith'

/** Where EMF documents go: stdout in Lambda (CloudWatch Logs reads them there), any sink locally and in tests. */
export interface MetricsDestination {
  write: (chunk: string) => unknown
}

/** Options of createMetrics. */
export interface MetricsOptions {
  /** Where documents are written; stdout unless given. */
  destination?: MetricsDestination
  clock?: () => Date
  /** Properties every document carries besides its dimensions (the log context of the unit of work). */
  context?: () => Record<string, string | undefined>
}

/** Documents held at most between two flushes, so work outside any invocation cannot pile up. */
const MAX_PENDING = 100

/**
 * Metrics as CloudWatch Embedded Metric Format: one JSON document per count, written straight
 * to the destination, whatever the log level, so an alarm never depends on LOG_LEVEL. The
 * documents of an invocation are written together when it ends (`flush`).
 * NOTE: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */
export function createMetrics ({ destination = process.stdout, clock = () => new Date(), context = () => ({}) }: MetricsOptions = {}): Metrics {
  let pending = ''
  let held = 0
  const flush = (): void => {
    if (held === 0) return
    const chunk = pending
    pending = ''
    held = 0
    destination.write(chunk)
  }
  return {
    count (name, dimensions = {}, value = 1) {
      pending += JSON.stringify({
        ...context(),
        _aws: {
          Timestamp: clock().getTime(),
          CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Dimensions: [Object.keys(dimensions)], Metrics: [{ Name: name, Unit: 'Count' }] }]
        },
        ...dimensions,
        [name]: value
      }) + '\n'
      if (++held >= MAX_PENDING) flush()
    },
    flush
  }
}
