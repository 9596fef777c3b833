import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { parseWebhookSecrets, type WebhookSecretMap } from '../domain/webhooks/providers.js'

/** What an API key may be allowed to do. */
export const SCOPES = ['payments:read', 'payments:write', 'admin'] as const

/** One scope. */
export type Scope = (typeof SCOPES)[number]

/** A configured API key: never the key itself, only its SHA-256 and its scopes. */
export interface ApiKey {
  /** A short, non-secret id for the key (the first 16 hex digits of its hash), for logs and scoping. */
  id: string
  sha256: Buffer
  scopes: ReadonlySet<Scope>
}

/** Log levels pino accepts, lowest noise last. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

const Url = (description: string) => Type.String({ pattern: '^https?://[^\\s]+$', description })
/** An integer variable; what a startup error says it expects follows from its bounds. */
const Int = (minimum: number, maximum: number, defaultValue: number, note = '') =>
  Type.Integer({ minimum, maximum, default: defaultValue, expected: `an integer from ${minimum} to ${maximum}${note === '' ? '' : ` ${note}`}` })
const QueueName = (defaultValue: string) =>
  Type.String({ pattern: '^[A-Za-z0-9_-]{1,80}(\\.fifo)?$', default: defaultValue, expected: 'an SQS queue name (1-80 of A-Z a-z 0-9 _ -, optional .fifo)' })
const SecretArn = () =>
  Type.Optional(Type.String({ pattern: '^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\\d{12}:secret:.+$', expected: 'a Secrets Manager secret ARN' }))

/**
 * Every environment variable paylith reads, with its default. The README's configuration
 * table mirrors this schema; `expected` is what a startup error says when a value is wrong.
 */
export const EnvSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000, expected: 'an integer from 0 (any free port) to 65535' }),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1', expected: 'a host name or address' }),
  LOG_LEVEL: Type.Union(LOG_LEVELS.map((level) => Type.Literal(level)), {
    default: 'info',
    expected: `one of ${LOG_LEVELS.join(', ')}`
  }),
  AWS_REGION: Type.String({ pattern: '^[a-z]{2}(-[a-z]+)+-\\d$', default: 'us-east-1', expected: 'an AWS region such as eu-west-1' }),
  AWS_ENDPOINT_URL: Type.Optional(Url('an http(s) URL such as http://127.0.0.1:5000')),
  AWS_ENDPOINT_URL_DYNAMODB: Type.Optional(Url('an http(s) URL such as http://127.0.0.1:8000')),
  TABLE_NAME: Type.String({ pattern: '^[A-Za-z0-9_.-]{3,255}$', default: 'paylith', expected: 'a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)' }),
  WORK_QUEUE_NAME: QueueName('paylith-work'),
  WORK_QUEUE_URL: Type.Optional(Url('the work queue URL')),
  DEAD_LETTER_QUEUE_NAME: QueueName('paylith-work-dlq'),
  DEAD_LETTER_QUEUE_URL: Type.Optional(Url('the dead-letter queue URL')),
  MAX_RECEIVE_COUNT: Int(1, 1000, 5),
  VISIBILITY_TIMEOUT_SECONDS: Int(0, 43200, 30),
  SQS_BATCH_SIZE: Int(1, 10, 10),
  SQS_WAIT_TIME_SECONDS: Int(0, 20, 20),
  STREAM_BATCH_SIZE: Int(1, 1000, 100),
  STREAM_MAX_RETRIES: Int(0, 10000, 3),
  STREAM_POLL_INTERVAL_MS: Int(10, 60000, 250),
  SHUTDOWN_TIMEOUT_MS: Int(100, 120000, 10000),
  API_KEYS: Type.Optional(Type.String({ expected: 'comma-separated <sha256 hex of the key>=<scope>|<scope> entries' })),
  IDEMPOTENCY_TTL_SECONDS: Int(60, 2_592_000, 86_400, '(30 days)'),
  WEBHOOK_SECRETS: Type.Optional(Type.String({ expected: 'comma-separated <provider>=<secret> entries' })),
  WEBHOOK_SECRETS_ARN: SecretArn(),
  WEBHOOK_SECRETS_CACHE_SECONDS: Int(0, 86_400, 300),
  WEBHOOK_TOLERANCE_SECONDS: Int(1, 3_600, 300),
  WEBHOOK_TTL_SECONDS: Int(3_600, 31_536_000, 2_592_000, '(a year)'),
  PAYMENT_PROVIDER: Type.Optional(Type.Union([Type.Literal('sandbox'), Type.Literal('stripe')], { expected: 'sandbox or stripe' })),
  SANDBOX_LATENCY_MS: Int(0, 60_000, 0),
  SANDBOX_WEBHOOK_URL: Type.Optional(Url('the URL the sandbox posts its signed webhooks to')),
  STRIPE_SECRET_KEY: Type.Optional(Type.String({ secret: true, pattern: '^(sk|rk)_(test|live)_\\w+$', expected: 'a Stripe secret key (sk_test_..., sk_live_... or rk_...)' })),
  STRIPE_SECRET_ARN: SecretArn(),
  STRIPE_PAYMENT_METHOD: Type.Optional(Type.String({ minLength: 1, expected: 'a Stripe PaymentMethod id' })),
  STRIPE_API_URL: Type.Optional(Url('a Stripe-compatible API base URL, such as stripe-mock')),
  PROVIDER_TIMEOUT_MS: Int(100, 60_000, 5_000),
  PROVIDER_MAX_ATTEMPTS: Int(1, 10, 3),
  PROVIDER_BACKOFF_BASE_MS: Int(1, 10_000, 100),
  PROVIDER_BACKOFF_CAP_MS: Int(1, 60_000, 2_000),
  BREAKER_VOLUME_THRESHOLD: Int(1, 1_000, 5),
  BREAKER_ERROR_PERCENTAGE: Int(1, 100, 50),
  BREAKER_RESET_TIMEOUT_MS: Int(100, 600_000, 10_000),
  WORKER_CONCURRENCY: Int(1, 1_000, 10),
  SWEEP_STALE_AFTER_SECONDS: Int(60, 86_400, 900),
  SWEEP_MAX_PER_RUN: Int(1, 10_000, 500),
  SWEEP_INTERVAL_SECONDS: Int(1, 3_600, 60),
  TRACING: Type.Boolean({ default: false, expected: 'true or false' }),
  LOCAL_EMULATOR_COMMAND: Type.String({ minLength: 1, default: 'moto_server', expected: 'the moto_server executable to run' }),
  AWS_LAMBDA_FUNCTION_NAME: Type.Optional(Type.String())
})

type Env = Static<typeof EnvSchema>

/** The validated, typed configuration every module receives. */
export interface Config {
  /** `lambda` when running inside AWS Lambda, `local` otherwise. */
  runtime: 'lambda' | 'local'
  port: number
  host: string
  logLevel: (typeof LOG_LEVELS)[number]
  /** `endpoint` for every client; `dynamodbEndpoint` overrides it for DynamoDB and its streams. */
  aws: { region: string; endpoint: string | undefined; dynamodbEndpoint: string | undefined }
  tableName: string
  queues: {
    work: QueueConfig
    deadLetter: QueueConfig
  }
  maxReceiveCount: number
  visibilityTimeoutSeconds: number
  pollers: {
    sqsBatchSize: number
    sqsWaitTimeSeconds: number
    streamBatchSize: number
    streamMaxRetries: number
    streamPollIntervalMs: number
  }
  shutdownTimeoutMs: number
  /** API keys by hash; empty only locally, where the server generates one. */
  apiKeys: readonly ApiKey[]
  /** How long an Idempotency-Key is remembered. */
  idempotencyTtlSeconds: number
  webhooks: {
    /** Secrets from WEBHOOK_SECRETS; empty when they come from Secrets Manager. */
    secrets: WebhookSecretMap
    secretsArn: string | undefined
    secretsCacheSeconds: number
    toleranceSeconds: number
    /** How long stored webhook events are kept (providers retry for about three days). */
    ttlSeconds: number
  }
  provider: {
    /** `sandbox` by default locally; must be chosen explicitly in Lambda. */
    name: 'sandbox' | 'stripe'
    sandbox: { latencyMs: number, webhookUrl: string | undefined }
    stripe: { secretKey: string | undefined, secretArn: string | undefined, paymentMethod: string | undefined, apiUrl: string | undefined }
    timeoutMs: number
    maxAttempts: number
    backoffBaseMs: number
    backoffCapMs: number
    breaker: { volumeThreshold: number, errorThresholdPercentage: number, resetTimeoutMs: number }
  }
  /** Work-queue records of one batch in flight at once (standard queues). */
  workerConcurrency: number
  /** AWS X-Ray tracing of the SDK clients (Lambda only; loaded only when on). */
  tracing: boolean
  /** The sweeper that re-sends charge commands for payments that stopped moving. */
  sweeper: { staleAfterSeconds: number, maxPerRun: number, localIntervalSeconds: number }
  /** The emulator `npm start` runs when no AWS endpoint is configured. */
  localEmulatorCommand: string
}

/** A queue is known by name; its URL comes from configuration (Lambda) or the local bootstrap. */
export interface QueueConfig {
  name: string
  url: string | undefined
}

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
      const expected = (schema.expected as string | undefined) ?? (schema.description as string | undefined) ?? read.problem
      const found = schema.secret === true ? 'a value that is not shown (it is a secret)' : JSON.stringify(raw[key])
      problems.push(`${key}: expected ${expected}, found ${found}`)
    } else if (read.value !== undefined) {
      env[key] = read.value
    }
  }
  const runtime = raw.AWS_LAMBDA_FUNCTION_NAME === undefined ? 'local' : 'lambda'
  const apiKeys = parseApiKeys(raw.API_KEYS ?? '', problems)
  const webhookSecrets = parseWebhookSecrets(raw.WEBHOOK_SECRETS ?? '', problems)
  if (raw.STRIPE_SECRET_KEY !== undefined && raw.STRIPE_SECRET_ARN !== undefined) {
    problems.push('STRIPE_SECRET_KEY and STRIPE_SECRET_ARN: expected one of them, found both')
  }
  if (raw.PAYMENT_PROVIDER === 'stripe' && raw.STRIPE_SECRET_KEY === undefined && raw.STRIPE_SECRET_ARN === undefined) {
    problems.push('STRIPE_SECRET_KEY or STRIPE_SECRET_ARN: required when PAYMENT_PROVIDER is stripe, found neither')
  }
  if (raw.WEBHOOK_SECRETS !== undefined && raw.WEBHOOK_SECRETS_ARN !== undefined) {
    problems.push('WEBHOOK_SECRETS and WEBHOOK_SECRETS_ARN: expected one of them, found both')
  }
  if (runtime === 'lambda') {
    for (const key of ['WORK_QUEUE_URL', 'DEAD_LETTER_QUEUE_URL', 'API_KEYS', 'PAYMENT_PROVIDER'] as const) {
      if (raw[key] === undefined) problems.push(`${key}: required in AWS Lambda, found nothing`)
    }
  }
  if (problems.length > 0) throw new ConfigError(problems)

  return toConfig(env as unknown as Env, runtime, apiKeys, webhookSecrets)
}

/**
 * Parses `API_KEYS`. Problems name the entry by position and never echo it, in case someone
 * pasted a raw key where its hash belongs.
 */
function parseApiKeys (value: string, problems: string[]): ApiKey[] {
  const keys: ApiKey[] = []
  const entries = value.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '')
  entries.forEach((entry, index) => {
    const where = `API_KEYS entry ${index + 1}`
    const [hash = '', scopeList = '', ...rest] = entry.split('=')
    if (!/^[0-9a-fA-F]{64}$/.test(hash) || rest.length > 0) {
      problems.push(`${where}: expected <sha256 hex of the key (64 hex digits)>=<scope>|<scope>, found something else (not shown, it may be a secret)`)
      return
    }
    const scopes = scopeList.split('|').map((scope) => scope.trim())
    const unknown = scopes.filter((scope) => !(SCOPES as readonly string[]).includes(scope))
    if (unknown.length > 0 || scopeList === '') {
      problems.push(`${where}: expected scopes from ${SCOPES.join(', ')} separated by |, found ${JSON.stringify(scopeList)}`)
      return
    }
    keys.push({ id: hash.slice(0, 16).toLowerCase(), sha256: Buffer.from(hash, 'hex'), scopes: new Set(scopes as Scope[]) })
  })
  return keys
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

function queueName (url: string | undefined, fallback: string): string {
  if (url === undefined) return fallback
  return new URL(url).pathname.split('/').filter(Boolean).pop() ?? fallback
}

function toConfig (env: Env, runtime: Config['runtime'], apiKeys: ApiKey[], webhookSecrets: WebhookSecretMap): Config {
  return {
    runtime,
    port: env.PORT,
    host: env.HOST,
    logLevel: env.LOG_LEVEL,
    aws: { region: env.AWS_REGION, endpoint: env.AWS_ENDPOINT_URL, dynamodbEndpoint: env.AWS_ENDPOINT_URL_DYNAMODB },
    tableName: env.TABLE_NAME,
    queues: {
      work: { name: queueName(env.WORK_QUEUE_URL, env.WORK_QUEUE_NAME), url: env.WORK_QUEUE_URL },
      deadLetter: { name: queueName(env.DEAD_LETTER_QUEUE_URL, env.DEAD_LETTER_QUEUE_NAME), url: env.DEAD_LETTER_QUEUE_URL }
    },
    maxReceiveCount: env.MAX_RECEIVE_COUNT,
    visibilityTimeoutSeconds: env.VISIBILITY_TIMEOUT_SECONDS,
    pollers: {
      sqsBatchSize: env.SQS_BATCH_SIZE,
      sqsWaitTimeSeconds: env.SQS_WAIT_TIME_SECONDS,
      streamBatchSize: env.STREAM_BATCH_SIZE,
      streamMaxRetries: env.STREAM_MAX_RETRIES,
      streamPollIntervalMs: env.STREAM_POLL_INTERVAL_MS
    },
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    idempotencyTtlSeconds: env.IDEMPOTENCY_TTL_SECONDS,
    apiKeys,
    webhooks: {
      secrets: webhookSecrets,
      secretsArn: env.WEBHOOK_SECRETS_ARN,
      secretsCacheSeconds: env.WEBHOOK_SECRETS_CACHE_SECONDS,
      toleranceSeconds: env.WEBHOOK_TOLERANCE_SECONDS,
      ttlSeconds: env.WEBHOOK_TTL_SECONDS
    },
    localEmulatorCommand: env.LOCAL_EMULATOR_COMMAND,
    provider: {
      name: env.PAYMENT_PROVIDER ?? 'sandbox',
      sandbox: { latencyMs: env.SANDBOX_LATENCY_MS, webhookUrl: env.SANDBOX_WEBHOOK_URL },
      stripe: { secretKey: env.STRIPE_SECRET_KEY, secretArn: env.STRIPE_SECRET_ARN, paymentMethod: env.STRIPE_PAYMENT_METHOD, apiUrl: env.STRIPE_API_URL },
      timeoutMs: env.PROVIDER_TIMEOUT_MS,
      maxAttempts: env.PROVIDER_MAX_ATTEMPTS,
      backoffBaseMs: env.PROVIDER_BACKOFF_BASE_MS,
      backoffCapMs: env.PROVIDER_BACKOFF_CAP_MS,
      breaker: { volumeThreshold: env.BREAKER_VOLUME_THRESHOLD, errorThresholdPercentage: env.BREAKER_ERROR_PERCENTAGE, resetTimeoutMs: env.BREAKER_RESET_TIMEOUT_MS }
    },
    workerConcurrency: env.WORKER_CONCURRENCY,
    tracing: env.TRACING,
    sweeper: { staleAfterSeconds: env.SWEEP_STALE_AFTER_SECONDS, maxPerRun: env.SWEEP_MAX_PER_RUN, localIntervalSeconds: env.SWEEP_INTERVAL_SECONDS }
  }
}
