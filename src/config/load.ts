import type { TSchema } from '@sinclair/typebox'
import { isFifoQueue } from '../aws/resources.js'
import { parseWebhookSecrets, type WebhookSecretMap } from '../domain/webhooks/providers.js'
import { parseApiKeys, type ApiKey } from './api-keys.js'
import { EnvSchema, type Env } from './env.js'

/** Where the code runs: `lambda` inside AWS Lambda, `local` otherwise. */
export type Runtime = 'lambda' | 'local'

/** The validated, typed configuration every module receives (derived from what toConfig builds). */
export type Config = ReturnType<typeof toConfig>

/** A queue is known by name; its URL comes from configuration (Lambda) or the local bootstrap. */
export type QueueConfig = Config['queues']['work']

/** Raised at startup when the environment does not describe a valid configuration. */
export class ConfigError extends Error {
  readonly problems: string[]

  constructor (problems: string[]) {
    super(`Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ConfigError'
    this.problems = problems
  }
}

/**
 * Reads and validates the configuration from an environment, once.
 * @throws ConfigError listing every problem (variable, what was expected, what was found)
 */
export function loadConfig (environment: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, string> = {}
  for (const key of Object.keys(EnvSchema.properties)) {
    const value = environment[key]
    if (value !== undefined && value !== '') raw[key] = value
  }

  const env: Record<string, unknown> = {}
  const problems: string[] = []
  for (const [key, schema] of Object.entries(EnvSchema.properties) as Array<[string, TSchema]>) {
    const read = readVariable(schema, raw[key])
    if ('problem' in read) {
      const expected = (schema.expected as string | undefined) ?? read.problem
      const found = schema.secret === true ? 'a value that is not shown (it is a secret)' : JSON.stringify(raw[key])
      problems.push(`${key}: expected ${expected}, found ${found}`)
    } else if (read.value !== undefined) {
      env[key] = read.value
    }
  }
  const runtime: Runtime = raw.AWS_LAMBDA_FUNCTION_NAME === undefined ? 'local' : 'lambda'
  const apiKeys = parseApiKeys(raw.API_KEYS ?? '', problems)
  const webhookSecrets = parseWebhookSecrets(raw.WEBHOOK_SECRETS ?? '', problems)
  if (raw.STRIPE_SECRET_KEY !== undefined && raw.STRIPE_SECRET_ARN !== undefined) {
    problems.push('STRIPE_SECRET_KEY and STRIPE_SECRET_ARN: expected one of them, found both')
  }
  if (raw.PAYMENT_PROVIDER === 'stripe' && raw.STRIPE_SECRET_KEY === undefined && raw.STRIPE_SECRET_ARN === undefined) {
    problems.push('STRIPE_SECRET_KEY or STRIPE_SECRET_ARN: required when PAYMENT_PROVIDER is stripe, found neither')
  }
  if (raw.API_KEYS !== undefined && raw.API_KEYS_SECRET_ARN !== undefined) {
    problems.push('API_KEYS and API_KEYS_SECRET_ARN: expected one of them, found both')
  }
  if (raw.WEBHOOK_SECRETS !== undefined && raw.WEBHOOK_SECRETS_ARN !== undefined) {
    problems.push('WEBHOOK_SECRETS and WEBHOOK_SECRETS_ARN: expected one of them, found both')
  }
  const fifoMismatch = queueTypeMismatch(env, raw)
  if (fifoMismatch !== undefined) problems.push(fifoMismatch)
  if (runtime === 'lambda') {
    for (const key of ['WORK_QUEUE_URL', 'DEAD_LETTER_QUEUE_URL', 'SETTLEMENT_QUEUE_URL', 'PAYMENT_PROVIDER'] as const) {
      if (raw[key] === undefined) problems.push(`${key}: required in AWS Lambda, found nothing`)
    }
    if (raw.API_KEYS === undefined && raw.API_KEYS_SECRET_ARN === undefined) {
      problems.push('API_KEYS_SECRET_ARN or API_KEYS: one is required in AWS Lambda, found neither')
    }
  }
  if (problems.length > 0) throw new ConfigError(problems)

  return toConfig(env as unknown as Env, runtime, apiKeys, webhookSecrets, raw.LOCAL_DATA_DIR !== undefined)
}

/**
 * Reads one variable against its schema: converts the text to the declared type, applies the
 * default, checks the bounds. An interpreter, not a compiled validator: compiling this schema
 * with Ajv cost ~20 ms of every cold start, reading it costs microseconds.
 */
function readVariable (schema: TSchema, text: string | undefined): { value: unknown } | { problem: string } {
  if (text === undefined) return { value: schema.default }
  if (Array.isArray(schema.anyOf)) {
    const allowed = (schema.anyOf as Array<{ const?: unknown }>).map((option) => option.const)
    return allowed.includes(text) ? { value: text } : { problem: `one of ${allowed.join(', ')}` }
  }
  switch (schema.type) {
    case 'integer': {
      const value = Number(text)
      const { minimum, maximum } = schema as { minimum?: number, maximum?: number }
      if (!/^-?\d+$/.test(text) || (minimum !== undefined && value < minimum) || (maximum !== undefined && value > maximum)) return { problem: 'an integer in range' }
      return { value }
    }
    case 'boolean':
      return text === 'true' || text === 'false' ? { value: text === 'true' } : { problem: 'true or false' }
    default: {
      const { minLength, pattern } = schema as { minLength?: number, pattern?: string }
      if ((minLength !== undefined && text.length < minLength) || (pattern !== undefined && !new RegExp(pattern, 'u').test(text))) return { problem: 'a valid value' }
      return { value: text }
    }
  }
}

/**
 * A FIFO queue's dead-letter queue must be FIFO and a standard queue's standard: SQS refuses the
 * redrive policy otherwise, so a local run that builds the pair must not start.
 * NOTE: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-configure-dead-letter-queue.html
 */
function queueTypeMismatch (env: Record<string, unknown>, raw: Record<string, string>): string | undefined {
  const nameOf = (key: 'WORK_QUEUE' | 'DEAD_LETTER_QUEUE'): { variable: string, name: string } | undefined => {
    const url = env[`${key}_URL`] as string | undefined
    const name = env[`${key}_NAME`] as string | undefined
    if (url !== undefined) return { variable: `${key}_URL`, name: queueName(url, '') }
    return name === undefined ? undefined : { variable: raw[`${key}_NAME`] === undefined ? `${key}_NAME (default)` : `${key}_NAME`, name }
  }
  const work = nameOf('WORK_QUEUE')
  const deadLetter = nameOf('DEAD_LETTER_QUEUE')
  if (work === undefined || deadLetter === undefined || isFifoQueue(work.name) === isFifoQueue(deadLetter.name)) return undefined
  const [fifo, standard] = isFifoQueue(work.name) ? [work, deadLetter] : [deadLetter, work]
  return `${work.variable} and ${deadLetter.variable}: expected two FIFO queues (names ending in .fifo) or two standard queues, found ${fifo.name} (FIFO) with ${standard.name} (standard)`
}

function queueName (url: string | undefined, fallback: string): string {
  if (url === undefined) return fallback
  return new URL(url).pathname.split('/').filter(Boolean).pop() ?? fallback
}

function toConfig (env: Env, runtime: Runtime, apiKeys: readonly ApiKey[], webhookSecrets: WebhookSecretMap, dataDirSet: boolean) {
  return {
    /** `lambda` when running inside AWS Lambda, `local` otherwise. */
    runtime,
    port: env.PORT,
    host: env.HOST,
    logLevel: env.LOG_LEVEL,
    /** Show metric documents on the local terminal (hidden there by default; always written elsewhere). */
    logMetrics: env.LOG_METRICS,
    /** `endpoint` for every client; `dynamodbEndpoint` overrides it for DynamoDB and its streams. */
    aws: { region: env.AWS_REGION, endpoint: env.AWS_ENDPOINT_URL, dynamodbEndpoint: env.AWS_ENDPOINT_URL_DYNAMODB },
    tableName: env.TABLE_NAME,
    queues: {
      work: { name: queueName(env.WORK_QUEUE_URL, env.WORK_QUEUE_NAME), url: env.WORK_QUEUE_URL },
      deadLetter: { name: queueName(env.DEAD_LETTER_QUEUE_URL, env.DEAD_LETTER_QUEUE_NAME), url: env.DEAD_LETTER_QUEUE_URL }
    },
    /**
     * The settlement bucket and the queues its notifications go through; `queueUrl` is where a
     * continuation is sent, `safetyMarginMs` the time left at which a file's invocation checkpoints.
     */
    settlements: {
      bucketName: env.SETTLEMENT_BUCKET_NAME,
      queueName: queueName(env.SETTLEMENT_QUEUE_URL, env.SETTLEMENT_QUEUE_NAME),
      queueUrl: env.SETTLEMENT_QUEUE_URL,
      deadLetterQueueName: env.SETTLEMENT_DEAD_LETTER_QUEUE_NAME,
      safetyMarginMs: env.SETTLEMENT_SAFETY_MARGIN_SECONDS * 1000
    },
    maxReceiveCount: env.MAX_RECEIVE_COUNT,
    visibilityTimeoutSeconds: env.VISIBILITY_TIMEOUT_SECONDS,
    pollers: {
      sqsBatchSize: env.SQS_BATCH_SIZE,
      sqsWaitTimeSeconds: env.SQS_WAIT_TIME_SECONDS,
      sqsPollers: env.SQS_POLLERS,
      streamBatchSize: env.STREAM_BATCH_SIZE,
      streamMaxRetries: env.STREAM_MAX_RETRIES,
      streamPollIntervalMs: env.STREAM_POLL_INTERVAL_MS
    },
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    /** How long an Idempotency-Key is remembered. */
    idempotencyTtlSeconds: env.IDEMPOTENCY_TTL_SECONDS,
    /** API keys by hash from API_KEYS; empty locally, where the server generates one, or when they come from Secrets Manager. */
    apiKeys,
    /** The Secrets Manager secret holding the API keys instead (API_KEYS_SECRET_ARN), and how long they are cached. */
    apiKeysSecret: { arn: env.API_KEYS_SECRET_ARN, cacheSeconds: env.API_KEYS_CACHE_SECONDS },
    webhooks: {
      /** Secrets from WEBHOOK_SECRETS; empty when they come from Secrets Manager. */
      secrets: webhookSecrets,
      secretsArn: env.WEBHOOK_SECRETS_ARN,
      secretsCacheSeconds: env.WEBHOOK_SECRETS_CACHE_SECONDS,
      toleranceSeconds: env.WEBHOOK_TOLERANCE_SECONDS,
      /** How long stored webhook events are kept (providers retry for about three days). */
      ttlSeconds: env.WEBHOOK_TTL_SECONDS
    },
    /** The emulator `npm start` runs when no AWS endpoint is configured. */
    localEmulatorCommand: env.LOCAL_EMULATOR_COMMAND,
    /**
     * `npm start`'s DynamoDB: DynamoDB Local kept in `dataDir` (emptied first when `fresh`), or moto when asked;
     * `dataDirSet`: LOCAL_DATA_DIR was given (not the default), so the stream position is kept there
     * even against an external endpoint; `faultsFile`: the faults to inject, read by the local runtime only.
     */
    local: { dynamodb: env.LOCAL_DYNAMODB, dataDir: env.LOCAL_DATA_DIR, dataDirSet, fresh: env.LOCAL_FRESH, faultsFile: env.LOCAL_FAULTS_FILE },
    provider: {
      /** `sandbox` by default locally; must be chosen explicitly in Lambda. */
      name: env.PAYMENT_PROVIDER ?? 'sandbox',
      sandbox: { latencyMs: env.SANDBOX_LATENCY_MS, webhookUrl: env.SANDBOX_WEBHOOK_URL, ledgerFile: env.SANDBOX_LEDGER_FILE },
      stripe: { secretKey: env.STRIPE_SECRET_KEY, secretArn: env.STRIPE_SECRET_ARN, keyCacheSeconds: env.STRIPE_KEY_CACHE_SECONDS, paymentMethod: env.STRIPE_PAYMENT_METHOD, apiUrl: env.STRIPE_API_URL },
      timeoutMs: env.PROVIDER_TIMEOUT_MS,
      maxAttempts: env.PROVIDER_MAX_ATTEMPTS,
      backoffBaseMs: env.PROVIDER_BACKOFF_BASE_MS,
      backoffCapMs: env.PROVIDER_BACKOFF_CAP_MS,
      breaker: { volumeThreshold: env.BREAKER_VOLUME_THRESHOLD, errorThresholdPercentage: env.BREAKER_ERROR_PERCENTAGE, resetTimeoutMs: env.BREAKER_RESET_TIMEOUT_MS }
    },
    /** Work-queue records of one batch in flight at once (standard queues). */
    workerConcurrency: env.WORKER_CONCURRENCY,
    /** Items of one stream batch handled at once (each item's records in stream order). */
    streamConcurrency: env.STREAM_CONCURRENCY,
    /** AWS X-Ray tracing of the SDK clients (Lambda only; loaded only when on). */
    tracing: env.TRACING,
    /** The sweeper that re-sends charge commands for payments that stopped moving. */
    sweeper: { staleAfterSeconds: env.SWEEP_STALE_AFTER_SECONDS, maxPerRun: env.SWEEP_MAX_PER_RUN, maxResends: env.SWEEP_MAX_RESENDS, localIntervalSeconds: env.SWEEP_INTERVAL_SECONDS }
  }
}
