import * as Type from '@sinclair/typebox'
import type { Static } from '@sinclair/typebox'

/** Log levels pino accepts, lowest noise last. */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/**
 * A region of any AWS partition: the alternatives are the partitions' `regionRegex` in the SDK's
 * endpoint rules (aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, aws-iso-e, aws-iso-f, aws-eusc),
 * so whatever the SDK resolves to a partition of its own is accepted, and nothing else.
 * NOTE: https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-regions.html
 */
const AWS_REGION_PATTERN = '^(?:(?:us|eu|ap|sa|ca|me|af|il|mx|cn)-[a-z]+|us-gov-[a-z]+|us-iso[bf]?-[a-z]+|eu-isoe-[a-z]+|eusc-de-[a-z]+)-\\d+$'
const Url = (expected: string, description?: string) =>
  Type.String({ pattern: '^https?://[^\\s]+$', expected, ...(description !== undefined && { description }) })
/** An integer variable; what a startup error says it expects follows from its bounds. */
const Int = (minimum: number, maximum: number, defaultValue: number, { note, description }: { note?: string, description?: string } = {}) =>
  Type.Integer({
    minimum,
    maximum,
    default: defaultValue,
    expected: `an integer from ${minimum} to ${maximum}${note === undefined ? '' : ` ${note}`}`,
    ...(description !== undefined && { description })
  })
const QueueName = (defaultValue: string) =>
  Type.String({ pattern: '^[A-Za-z0-9_-]{1,80}(\\.fifo)?$', default: defaultValue, expected: 'an SQS queue name (1-80 of A-Z a-z 0-9 _ -, optional .fifo)' })
/** A standard (not FIFO) queue's name. */
const StandardQueueName = (defaultValue: string, description: string) =>
  Type.String({ pattern: '^[A-Za-z0-9_-]{1,80}$', default: defaultValue, expected: 'a standard SQS queue name (1-80 of A-Z a-z 0-9 _ -)', description })
const SecretArn = () =>
  Type.Optional(Type.String({ pattern: '^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\\d{12}:secret:.+$', expected: 'a Secrets Manager secret ARN' }))

/**
 * Every environment variable paylith reads, declared once: its type, default and bounds. The
 * Config type and the deployment's function environment are derived from it, and the README's
 * configuration table mirrors it. `expected` is what a startup error says when a value is
 * wrong; `description` says what a variable is for where its name does not.
 */
export const EnvSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000, expected: 'an integer from 0 (any free port) to 65535' }),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1', expected: 'a host name or address' }),
  LOG_LEVEL: Type.Union(LOG_LEVELS.map((level) => Type.Literal(level)), {
    default: 'info',
    expected: `one of ${LOG_LEVELS.join(', ')}`
  }),
  LOG_METRICS: Type.Boolean({ default: false, expected: 'true or false', description: 'Show metric documents on the local terminal (they are always written elsewhere).' }),
  AWS_REGION: Type.String({ pattern: AWS_REGION_PATTERN, default: 'us-east-1', expected: 'an AWS region such as eu-west-1, us-gov-west-1, cn-north-1 or eusc-de-east-1' }),
  AWS_ENDPOINT_URL: Type.Optional(Url('an http(s) URL such as http://127.0.0.1:5000', 'The endpoint of every AWS client.')),
  AWS_ENDPOINT_URL_DYNAMODB: Type.Optional(Url('an http(s) URL such as http://127.0.0.1:8000', 'Overrides AWS_ENDPOINT_URL for DynamoDB and its streams.')),
  TABLE_NAME: Type.String({ pattern: '^[A-Za-z0-9_.-]{3,255}$', default: 'paylith', expected: 'a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)' }),
  WORK_QUEUE_NAME: QueueName('paylith-work'),
  WORK_QUEUE_URL: Type.Optional(Url('the work queue URL')),
  DEAD_LETTER_QUEUE_NAME: QueueName('paylith-work-dlq'),
  DEAD_LETTER_QUEUE_URL: Type.Optional(Url('the dead-letter queue URL')),
  SETTLEMENT_BUCKET_NAME: Type.String({
    pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$',
    default: 'paylith-settlements',
    expected: 'an S3 bucket name (3-63 of a-z 0-9 . -, starting and ending with a letter or digit)',
    description: 'The bucket settlement files are put in (under settlements/<provider>/) and reports written to (under reports/).'
  }),
  SETTLEMENT_QUEUE_NAME: StandardQueueName('paylith-settlements', 'The queue the bucket notifies of each settlement file (standard: S3 cannot notify a FIFO queue).'),
  SETTLEMENT_DEAD_LETTER_QUEUE_NAME: StandardQueueName('paylith-settlements-dlq', 'Where a settlement file\'s message goes after failing three times (kept, alarmed on).'),
  SETTLEMENT_QUEUE_URL: Type.Optional(Url('the settlement queue URL', 'Where the settlement worker sends itself a continuation message (the stack sets it; locally the bootstrap finds it).')),
  SETTLEMENT_SAFETY_MARGIN_SECONDS: Int(1, 600, 60, { description: 'When an invocation reconciling a settlement file has less than this left, the worker checkpoints and continues in a new invocation.' }),
  MAX_RECEIVE_COUNT: Int(1, 1000, 5),
  VISIBILITY_TIMEOUT_SECONDS: Int(0, 43200, 30),
  SQS_BATCH_SIZE: Int(1, 10, 10),
  SQS_WAIT_TIME_SECONDS: Int(0, 20, 20),
  SQS_POLLERS: Int(1, 50, 5, { description: 'Local SQS pollers per queue, each with one batch in flight, as Lambda starts with five concurrent batches per queue.' }),
  STREAM_BATCH_SIZE: Int(1, 1000, 100),
  STREAM_MAX_RETRIES: Int(0, 10000, 3),
  STREAM_POLL_INTERVAL_MS: Int(10, 60000, 250),
  STREAM_CONCURRENCY: Int(1, 1_000, 10, { description: 'Items (table keys) of one stream batch handled at once; one item\'s records always run in stream order, and 1 handles the batch one record at a time.' }),
  SHUTDOWN_TIMEOUT_MS: Int(100, 120000, 10000),
  API_KEYS: Type.Optional(Type.String({
    expected: 'comma-separated <sha256 hex of the key>=<scope>|<scope> entries',
    description: 'API keys by hash, with their scopes; unset locally, where the server generates one, or when they come from Secrets Manager (API_KEYS_SECRET_ARN).'
  })),
  API_KEYS_SECRET_ARN: SecretArn(),
  API_KEYS_CACHE_SECONDS: Int(0, 86_400, 300, { description: 'How long API keys from Secrets Manager are cached.' }),
  IDEMPOTENCY_TTL_SECONDS: Int(60, 2_592_000, 86_400, { note: '(30 days)', description: 'How long an Idempotency-Key is remembered.' }),
  WEBHOOK_SECRETS: Type.Optional(Type.String({
    expected: 'comma-separated <provider>=<secret> entries',
    description: 'Webhook signing secrets; unset when they come from Secrets Manager (WEBHOOK_SECRETS_ARN).'
  })),
  WEBHOOK_SECRETS_ARN: SecretArn(),
  WEBHOOK_SECRETS_CACHE_SECONDS: Int(0, 86_400, 300),
  WEBHOOK_TOLERANCE_SECONDS: Int(1, 3_600, 300),
  WEBHOOK_TTL_SECONDS: Int(3_600, 31_536_000, 2_592_000, { note: '(a year)', description: 'How long stored webhook events are kept (providers retry for about three days).' }),
  PAYMENT_PROVIDER: Type.Optional(Type.Union([Type.Literal('sandbox'), Type.Literal('stripe')], {
    expected: 'sandbox or stripe',
    description: 'sandbox by default locally; must be chosen explicitly in Lambda.'
  })),
  SANDBOX_LATENCY_MS: Int(0, 60_000, 0),
  SANDBOX_WEBHOOK_URL: Type.Optional(Url('the URL the sandbox posts its signed webhooks to')),
  SANDBOX_LEDGER_FILE: Type.Optional(Type.String({
    minLength: 1,
    expected: 'a file path',
    description: 'Where the sandbox keeps its real charges (JSON lines), so its idempotency and the charges survive a restart or a kill -9.'
  })),
  STRIPE_SECRET_KEY: Type.Optional(Type.String({ secret: true, pattern: '^(sk|rk)_(test|live)_\\w+$', expected: 'a Stripe secret key (sk_test_..., sk_live_... or rk_...)' })),
  STRIPE_SECRET_ARN: SecretArn(),
  STRIPE_KEY_CACHE_SECONDS: Int(1, 86_400, 300),
  STRIPE_PAYMENT_METHOD: Type.Optional(Type.String({ minLength: 1, expected: 'a Stripe PaymentMethod id' })),
  STRIPE_API_URL: Type.Optional(Url('a Stripe-compatible API base URL, such as stripe-mock')),
  PROVIDER_TIMEOUT_MS: Int(100, 60_000, 5_000),
  PROVIDER_MAX_ATTEMPTS: Int(1, 10, 3),
  PROVIDER_BACKOFF_BASE_MS: Int(1, 10_000, 100),
  PROVIDER_BACKOFF_CAP_MS: Int(1, 60_000, 2_000),
  BREAKER_VOLUME_THRESHOLD: Int(1, 1_000, 5),
  BREAKER_ERROR_PERCENTAGE: Int(1, 100, 50),
  BREAKER_RESET_TIMEOUT_MS: Int(100, 600_000, 10_000),
  WORKER_CONCURRENCY: Int(1, 1_000, 10, { description: 'Work-queue records of one batch in flight at once (standard queues).' }),
  SWEEP_STALE_AFTER_SECONDS: Int(60, 86_400, 900, { description: 'How long a payment may stop moving before the sweeper re-sends its charge command.' }),
  SWEEP_MAX_PER_RUN: Int(1, 10_000, 500),
  SWEEP_MAX_RESENDS: Int(0, 20, 5, { description: 'How often the sweeper may re-send one payment\'s charge (each interval twice the one before) before flagging it as needing a person.' }),
  SWEEP_INTERVAL_SECONDS: Int(1, 3_600, 60, { description: 'How often the local server sweeps (in AWS, an EventBridge schedule).' }),
  TRACING: Type.Boolean({ default: false, expected: 'true or false', description: 'AWS X-Ray tracing of the SDK clients (Lambda only; loaded only when on).' }),
  LOCAL_EMULATOR_COMMAND: Type.String({
    minLength: 1,
    default: 'moto_server',
    expected: 'the moto_server executable to run',
    description: 'The emulator `npm start` runs when no AWS endpoint is configured.'
  }),
  LOCAL_DYNAMODB: Type.Union([Type.Literal('dynamodb-local'), Type.Literal('moto')], {
    default: 'dynamodb-local',
    expected: 'dynamodb-local or moto',
    description: 'What runs DynamoDB for `npm start`: DynamoDB Local (Java 17), or moto (no transaction isolation: opt-in only).'
  }),
  LOCAL_DATA_DIR: Type.String({ minLength: 1, default: '.paylith', expected: 'a directory path', description: 'Where `npm start` keeps DynamoDB Local\'s data and the stream position across restarts (set explicitly, the stream position is kept there against an external endpoint too, as Lambda keeps its place).' }),
  LOCAL_FRESH: Type.Boolean({ default: false, expected: 'true or false', description: '`npm start` deletes the kept data and starts empty (as `npm start -- --fresh`).' }),
  LOCAL_FAULTS_FILE: Type.Optional(Type.String({
    minLength: 1,
    expected: 'a file path',
    description: 'Local only: a JSON file of faults to inject (DynamoDB throttling, provider down or slow, short SQS visibility), re-read when it changes.'
  })),
  AWS_LAMBDA_FUNCTION_NAME: Type.Optional(Type.String({ description: 'Set by AWS Lambda: its presence means running in Lambda.' }))
})

/** The environment once read: every variable converted to its declared type, defaults applied. */
export type Env = Static<typeof EnvSchema>

/** The name of a variable paylith reads. */
export type EnvName = keyof typeof EnvSchema.properties

/** Values for some of paylith's variables, as text, the way an environment holds them (a deployment's, a test's). */
export type EnvValues = Partial<Record<EnvName, string>>
