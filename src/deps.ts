import type { Logger } from 'pino'
import { createAwsClients, type AwsClients } from './aws/clients.js'
import type { Config } from './config.js'
import { createIdGenerator, type IdGenerator } from './domain/ids.js'
import { createLogger } from './logger.js'
import { createMetrics, type Metrics } from './metrics.js'
import { createPaymentStore, type PaymentStore } from './store/payments.js'
import { createWebhookStore, type WebhookStore } from './store/webhooks.js'
import { cachedWebhookSecrets, secretsManagerFetcher, staticWebhookSecrets, type WebhookSecrets } from './webhooks/secrets.js'

/** Everything the app and the workers depend on, built once per process (cold start). */
export interface Deps extends AwsClients {
  config: Config
  logger: Logger
  /** The current time; injected so tests and the status machine never read the wall clock directly. */
  clock: () => Date
  /** Makes new payment ids. */
  ids: IdGenerator
  payments: PaymentStore
  webhooks: WebhookStore
  webhookSecrets: WebhookSecrets
  metrics: Metrics
}

/** Optional replacements for the parts of Deps tests or the local server provide themselves. */
export type DepsOverrides = Partial<Omit<Deps, 'config' | 'payments' | 'webhooks'>>

/** Builds the dependencies from configuration. Makes no network calls. */
export function createDeps (config: Config, overrides: DepsOverrides = {}): Deps {
  const clients = overrides.dynamodb !== undefined && overrides.sqs !== undefined
    ? { dynamodb: overrides.dynamodb, sqs: overrides.sqs }
    : createAwsClients(config)
  const dynamodb = overrides.dynamodb ?? clients.dynamodb
  const clock = overrides.clock ?? (() => new Date())
  const logger = overrides.logger ?? createLogger(config)
  return {
    config,
    logger,
    clock,
    ids: overrides.ids ?? createIdGenerator(),
    dynamodb,
    sqs: overrides.sqs ?? clients.sqs,
    payments: createPaymentStore({ dynamodb, tableName: config.tableName, clock, idempotencyTtlSeconds: config.idempotencyTtlSeconds }),
    webhooks: createWebhookStore({ dynamodb, tableName: config.tableName }),
    webhookSecrets: overrides.webhookSecrets ?? webhookSecretsFor(config, clock),
    metrics: overrides.metrics ?? createMetrics(logger, clock)
  }
}

/** Webhook secrets from Secrets Manager when WEBHOOK_SECRETS_ARN is set, else from WEBHOOK_SECRETS. */
function webhookSecretsFor (config: Config, clock: () => Date): WebhookSecrets {
  const { secretsArn, secrets, secretsCacheSeconds } = config.webhooks
  if (secretsArn === undefined) return staticWebhookSecrets(secrets)
  return cachedWebhookSecrets({
    fetch: secretsManagerFetcher({ secretId: secretsArn, region: config.aws.region, endpoint: config.aws.endpoint }),
    clock,
    ttlMs: secretsCacheSeconds * 1000,
    minRefreshIntervalMs: 60_000
  })
}
