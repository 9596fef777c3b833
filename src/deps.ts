import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams'
import type { SQSClient } from '@aws-sdk/client-sqs'
import type { Logger } from 'pino'
import { clientOptions, lazyClient, lazySqsClient, lazyStreamsClient, type LazyClient } from './aws/clients.js'
import type { Config } from './config/load.js'
import { createIdGenerator, createRefundIdGenerator, createSettlementIdGenerator, type IdGenerator } from './domain/ids.js'
import { createLogger, currentLogContext } from './observability/logger.js'
import { MetricName, SecretFallback, SecretName, createMetrics, type Metrics, type MetricsDestination } from './observability/metrics.js'
import { sandboxFromConfig } from './providers/sandbox.js'
import { createStripeProvider } from './providers/stripe.js'
import type { PaymentProvider } from './providers/types.js'
import { createWorkQueue, type WorkQueue } from './queue/work-queue.js'
import { createDeadLetterStore, type DeadLetterStore } from './store/dead-letters.js'
import { createSummaryStore, type SummaryStore } from './store/summaries.js'
import { createTableProbe, type TableProbe } from './store/table-probe.js'
import { DEFAULT_TRANSIENT_RETRY, type TransientRetry } from './store/transient.js'
import { createPaymentStore, type PaymentStore } from './store/payments.js'
import { createRefundStore, type RefundStore } from './store/refunds.js'
import { createWebhookStore, type WebhookStore } from './store/webhooks.js'
import { createSettlementStore, type SettlementStore } from './store/settlements.js'
import { s3SettlementFiles, type SettlementFiles } from './aws/s3.js'
import { cachedWebhookSecrets, staticWebhookSecrets, type SecretFetcher, type WebhookSecrets } from './domain/webhooks/secrets.js'
import { secretsManagerFetcher } from './aws/secrets-manager.js'
import { cachedApiKeys, staticApiKeys, type ApiKeySource } from './config/api-keys.js'

/** Everything the app and the workers depend on, built once per process (cold start). */
export interface Deps {
  config: Config
  dynamodb: DynamoDBClient
  /** The SQS client, built (and the SQS SDK loaded) on first use: workers send, the HTTP path never does. */
  sqs: LazyClient<SQSClient>
  logger: Logger
  /** The current time; injected so tests and the status machine never read the wall clock directly. */
  clock: () => Date
  /** The client that reads the table's stream back (a discarded stream batch's records), loaded on first use. */
  streams: () => Promise<DynamoDBStreamsClient>
  /** Makes new payment ids. */
  ids: IdGenerator
  /** Makes new settlement ids. */
  settlementIds: IdGenerator
  /** Makes new refund ids. */
  refundIds: IdGenerator
  payments: PaymentStore
  refunds: RefundStore
  webhooks: WebhookStore
  webhookSecrets: WebhookSecrets
  /** The API keys the auth hook accepts: API_KEYS, or the Secrets Manager secret API_KEYS_SECRET_ARN, cached. */
  apiKeys: ApiKeySource
  metrics: Metrics
  summaries: SummaryStore
  deadLetters: DeadLetterStore
  settlements: SettlementStore
  /** The settlement bucket's files (the S3 client loads on first use). */
  settlementFiles: SettlementFiles
  /** Whether the table answers (readiness). */
  table: TableProbe
  /** Sends commands to the work queue. */
  workQueue: WorkQueue
  /** The provider as configured; the workers put it behind a circuit breaker (resilientChargeFor) when they load. */
  provider: PaymentProvider
  /** Aborted when the local runtime shuts down: provider calls and retries in flight are abandoned. */
  stopSignal?: AbortSignal
  /** Further readiness checks `/ready` runs after DynamoDB's (the local pollers'); none in Lambda. */
  readiness?: () => ReadinessCheck[]
}

/** One readiness check's outcome: `name` is the check's key in `/ready`'s answer. */
export interface ReadinessCheck {
  name: string
  ok: boolean
  detail: string
}

/** Optional replacements for the parts of Deps tests or the local server provide themselves. */
export type DepsOverrides = Partial<Omit<Deps, 'config' | 'sqs' | 'payments' | 'refunds' | 'webhooks' | 'summaries' | 'deadLetters' | 'settlements' | 'table' | 'workQueue'>> & {
  /** An SQS client built already (the local runtime's and the tests', on the emulator); it then serves `deps.sqs`. */
  sqs?: SQSClient
  /** Where the metric documents go (stdout unless given): the local terminal's choice, or a test's sink. */
  metricsDestination?: MetricsDestination
  /** How a Secrets Manager secret is read (secretsManagerFetcher unless given): a test counts or cuts the reads. */
  secretFetcher?: (secretId: string) => SecretFetcher
}

/** Builds the dependencies from configuration. Makes no network calls. */
export function createDeps (config: Config, overrides: DepsOverrides = {}): Deps {
  const dynamodb = overrides.dynamodb ?? new DynamoDBClient(clientOptions(config, 'dynamodb'))
  const given = overrides.sqs
  const sqs = given === undefined ? lazySqsClient(config) : lazyClient(async () => given)
  const clock = overrides.clock ?? (() => new Date())
  const logger = overrides.logger ?? createLogger(config)
  const metrics = overrides.metrics ?? createMetrics({ destination: overrides.metricsDestination, clock, context: currentLogContext })
  const provider = overrides.provider ?? createProvider(config, logger, clock)
  const { tableName } = config
  const transient = transientRetry(metrics, logger)
  const secrets: SecretsOptions = {
    clock,
    fetcher: overrides.secretFetcher ?? ((secretId) => secretsManagerFetcher({ secretId, region: config.aws.region, endpoint: config.aws.endpoint })),
    onFailure: (secret) => (error, { cached }) => {
      const fallback = cached ? SecretFallback.cached : SecretFallback.none
      const what = secret === SecretName.apiKeys ? 'API keys' : 'webhook secrets'
      metrics.count(MetricName.secretUnavailable, { secret, fallback })
      logger.error({ err: error, secret, fallback }, cached
        ? `could not read the ${what} from Secrets Manager; the last ones read stay in use`
        : `could not read the ${what} from Secrets Manager, and none were read before: requests that need them are answered 503`)
    }
  }
  return {
    config,
    logger,
    clock,
    ids: overrides.ids ?? createIdGenerator(),
    settlementIds: overrides.settlementIds ?? createSettlementIdGenerator(),
    refundIds: overrides.refundIds ?? createRefundIdGenerator(),
    dynamodb,
    sqs,
    streams: overrides.streams ?? lazyStreamsClient(config),
    payments: createPaymentStore({ dynamodb, tableName, clock, transient }),
    refunds: createRefundStore({ dynamodb, tableName, clock, transient }),
    webhooks: createWebhookStore({ dynamodb, tableName }),
    webhookSecrets: overrides.webhookSecrets ?? webhookSecretsFor(config, secrets),
    apiKeys: overrides.apiKeys ?? apiKeysFor(config, secrets),
    metrics,
    summaries: createSummaryStore({ dynamodb, tableName, transient }),
    deadLetters: createDeadLetterStore({ dynamodb, tableName }),
    settlements: createSettlementStore({ dynamodb, tableName }),
    settlementFiles: overrides.settlementFiles ?? s3SettlementFiles(config),
    table: createTableProbe({ dynamodb, tableName }),
    workQueue: createWorkQueue({ sqs, url: config.queues.work.url, maxReceiveCount: config.maxReceiveCount }),
    provider,
    ...(overrides.stopSignal !== undefined && { stopSignal: overrides.stopSignal }),
    ...(overrides.readiness !== undefined && { readiness: overrides.readiness })
  }
}

/** How the stores try again a write DynamoDB refuses for now, counting each refusal (`DynamoDbThrottled`). */
function transientRetry (metrics: Metrics, logger: Logger): TransientRetry {
  return {
    ...DEFAULT_TRANSIENT_RETRY,
    onTransient ({ operation, reason, attempt, retrying }) {
      metrics.count(MetricName.dynamoDbThrottled, { operation, reason, outcome: retrying ? 'retried' : 'gave-up' })
      if (!retrying) logger.warn({ operation, reason, attempts: attempt }, 'DynamoDB kept refusing a write; giving up')
    }
  }
}

/** The configured payment provider. The Stripe SDK itself loads on the first charge. */
function createProvider (config: Config, logger: Logger, clock: () => Date): PaymentProvider {
  if (config.provider.name === 'sandbox') {
    return sandboxFromConfig(config, logger, clock)
  }
  const { secretKey, secretArn, keyCacheSeconds, paymentMethod, apiUrl } = config.provider.stripe
  const fetchKey = secretArn === undefined
    ? async () => secretKey ?? ''
    : secretsManagerFetcher({ secretId: secretArn, region: config.aws.region, endpoint: config.aws.endpoint })
  const api = apiUrl === undefined ? undefined : new URL(apiUrl)
  return createStripeProvider({
    secretKey: fetchKey,
    defaultPaymentMethod: paymentMethod,
    timeoutMs: config.provider.timeoutMs,
    keyMaxAgeMs: keyCacheSeconds * 1000,
    ...(api !== undefined && { apiBase: { host: api.hostname, port: Number(api.port || (api.protocol === 'https:' ? 443 : 80)), protocol: api.protocol === 'https:' ? 'https' : 'http' } })
  })
}

/** What the secrets read from Secrets Manager share: the clock, how a secret is read, and what a failed read does. */
interface SecretsOptions {
  clock: () => Date
  fetcher: (secretId: string) => SecretFetcher
  onFailure: (secret: SecretName) => (error: unknown, context: { cached: boolean }) => void
}

/** After an unknown key or a signature that matched no secret, a secret is read again at most this often. */
const MIN_REFRESH_INTERVAL_MS = 60_000

/** Webhook secrets from Secrets Manager when WEBHOOK_SECRETS_ARN is set, else from WEBHOOK_SECRETS. */
function webhookSecretsFor (config: Config, { clock, fetcher, onFailure }: SecretsOptions): WebhookSecrets {
  const { secretsArn, secrets, secretsCacheSeconds } = config.webhooks
  if (secretsArn === undefined) return staticWebhookSecrets(secrets)
  return cachedWebhookSecrets({
    fetch: fetcher(secretsArn),
    clock,
    ttlMs: secretsCacheSeconds * 1000,
    minRefreshIntervalMs: MIN_REFRESH_INTERVAL_MS,
    onFailure: onFailure(SecretName.webhookSecrets)
  })
}

/** API keys from Secrets Manager when API_KEYS_SECRET_ARN is set, else from API_KEYS. */
function apiKeysFor (config: Config, { clock, fetcher, onFailure }: SecretsOptions): ApiKeySource {
  const { arn, cacheSeconds } = config.apiKeysSecret
  if (arn === undefined) return staticApiKeys(config.apiKeys)
  return cachedApiKeys({
    secretArn: arn,
    fetch: fetcher(arn),
    clock,
    ttlMs: cacheSeconds * 1000,
    minRefreshIntervalMs: MIN_REFRESH_INTERVAL_MS,
    onFailure: onFailure(SecretName.apiKeys)
  })
}
