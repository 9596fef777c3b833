import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config/load.js'

t.test('an empty environment gives the documented local defaults', async (t) => {
  const config = loadConfig({})
  t.equal(config.runtime, 'local')
  t.equal(config.port, 3000)
  t.equal(config.host, '127.0.0.1')
  t.equal(config.logLevel, 'info')
  t.same(config.aws, { region: 'us-east-1', endpoint: undefined, dynamodbEndpoint: undefined })
  t.equal(config.tableName, 'paylith')
  t.same(config.queues, { work: { name: 'paylith-work', url: undefined }, deadLetter: { name: 'paylith-work-dlq', url: undefined } })
  t.equal(config.maxReceiveCount, 5)
  t.equal(config.visibilityTimeoutSeconds, 30)
  t.same(config.pollers, { sqsBatchSize: 10, sqsWaitTimeSeconds: 20, sqsPollers: 5, streamBatchSize: 100, streamMaxRetries: 3, streamPollIntervalMs: 250 })
})

t.test('string values are converted to the types the schema declares', async (t) => {
  const config = loadConfig({ PORT: '8080', MAX_RECEIVE_COUNT: '3', LOG_LEVEL: 'debug', AWS_ENDPOINT_URL: 'http://127.0.0.1:5000' })
  t.equal(config.port, 8080)
  t.equal(config.maxReceiveCount, 3)
  t.equal(config.logLevel, 'debug')
  t.equal(config.aws.endpoint, 'http://127.0.0.1:5000')
})

t.test('an empty string counts as unset, so the default applies', async (t) => {
  t.equal(loadConfig({ PORT: '' }).port, 3000)
})

t.test('every bad value is reported in one error, with the name, what was expected and what was found', async (t) => {
  const error = t.throws(() => loadConfig({ PORT: 'abc', LOG_LEVEL: 'loud', MAX_RECEIVE_COUNT: '0', AWS_ENDPOINT_URL: 'not a url' })) as ConfigError
  t.type(error, ConfigError)
  t.equal(error.problems.length, 4)
  t.match(error.message, /^Invalid configuration \(4 problems\):/)
  t.match(error.message, /PORT: expected an integer from 0 \(any free port\) to 65535, found "abc"/)
  t.match(error.message, /LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, found "loud"/)
  t.match(error.message, /MAX_RECEIVE_COUNT: expected an integer from 1 to 1000, found "0"/)
  t.match(error.message, /AWS_ENDPOINT_URL: expected an http\(s\) URL such as http:\/\/127\.0\.0\.1:5000, found "not a url"/)
})

t.test('in AWS Lambda the queue URLs, API keys and the provider are required', async (t) => {
  const error = t.throws(() => loadConfig({ AWS_LAMBDA_FUNCTION_NAME: 'paylith' })) as ConfigError
  t.same(error.problems, [
    'WORK_QUEUE_URL: required in AWS Lambda, found nothing',
    'DEAD_LETTER_QUEUE_URL: required in AWS Lambda, found nothing',
    'SETTLEMENT_QUEUE_URL: required in AWS Lambda, found nothing',
    'PAYMENT_PROVIDER: required in AWS Lambda, found nothing',
    'API_KEYS_SECRET_ARN or API_KEYS: one is required in AWS Lambda, found neither'
  ])
})

const LAMBDA = {
  AWS_LAMBDA_FUNCTION_NAME: 'paylith',
  WORK_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/paylith-work',
  DEAD_LETTER_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/paylith-work-dlq',
  SETTLEMENT_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/paylith-settlements',
  PAYMENT_PROVIDER: 'sandbox'
}
const API_KEYS_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:paylith-api-keys-AbCdEf'

t.test('in AWS Lambda the API keys may come from a Secrets Manager secret instead of API_KEYS, cached 300 s by default', async (t) => {
  const config = loadConfig({ ...LAMBDA, API_KEYS_SECRET_ARN })
  t.same(config.apiKeys, [], 'no keys from the environment')
  t.same(config.apiKeysSecret, { arn: API_KEYS_SECRET_ARN, cacheSeconds: 300 })
  t.equal(loadConfig({ ...LAMBDA, API_KEYS_SECRET_ARN, API_KEYS_CACHE_SECONDS: '60' }).apiKeysSecret.cacheSeconds, 60)
  t.equal(loadConfig({ ...LAMBDA, API_KEYS: `${'a'.repeat(64)}=admin` }).apiKeysSecret.arn, undefined, 'API_KEYS alone is still accepted')
})

t.test('API_KEYS and API_KEYS_SECRET_ARN together are refused, in Lambda and locally, without echoing either', async (t) => {
  for (const environment of [LAMBDA, {}]) {
    const error = t.throws(() => loadConfig({ ...environment, API_KEYS: `${'a'.repeat(64)}=admin`, API_KEYS_SECRET_ARN })) as ConfigError
    t.same(error.problems, ['API_KEYS and API_KEYS_SECRET_ARN: expected one of them, found both'])
  }
})

t.test('API_KEYS_SECRET_ARN must be a Secrets Manager ARN, and the cache time a number of seconds up to a day', async (t) => {
  const error = t.throws(() => loadConfig({ API_KEYS_SECRET_ARN: 'paylith-api-keys', API_KEYS_CACHE_SECONDS: '86401' })) as ConfigError
  t.same(error.problems, [
    'API_KEYS_SECRET_ARN: expected a Secrets Manager secret ARN, found "paylith-api-keys"',
    'API_KEYS_CACHE_SECONDS: expected an integer from 0 to 86400, found "86401"'
  ])
})

t.test('API_KEYS holds SHA-256 hashes with scopes', async (t) => {
  const hash = 'a'.repeat(64)
  const config = loadConfig({ API_KEYS: `${hash}=payments:read|payments:write, ${'B'.repeat(64)}=admin` })
  t.equal(config.apiKeys.length, 2)
  t.equal(config.apiKeys[0]?.id, 'a'.repeat(16))
  t.same([...(config.apiKeys[0]?.scopes ?? [])], ['payments:read', 'payments:write'])
  t.same(config.apiKeys[1]?.sha256, Buffer.from('B'.repeat(64), 'hex'))
})

t.test('a malformed API_KEYS entry is named by position and never echoed', async (t) => {
  const error = t.throws(() => loadConfig({ API_KEYS: `plk_live_raw_secret=admin,${'c'.repeat(64)}=payments:delete` })) as ConfigError
  t.equal(error.problems.length, 2)
  t.match(error.problems[0], /^API_KEYS entry 1: expected <sha256 hex of the key/)
  t.match(error.problems[1], /^API_KEYS entry 2: expected scopes from payments:read, payments:write, admin/)
  t.notMatch(error.message, /plk_live_raw_secret/, 'a raw key pasted by mistake is not repeated')
})

t.test('in AWS Lambda the queue names come from their URLs', async (t) => {
  const config = loadConfig({
    AWS_LAMBDA_FUNCTION_NAME: 'paylith',
    API_KEYS: `${'a'.repeat(64)}=admin`,
    PAYMENT_PROVIDER: 'sandbox',
    WORK_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/prod-work',
    DEAD_LETTER_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/prod-dlq',
    SETTLEMENT_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/prod-settlements'
  })
  t.equal(config.runtime, 'lambda')
  t.same(config.queues.work, { name: 'prod-work', url: 'https://sqs.eu-west-1.amazonaws.com/123456789012/prod-work' })
  t.equal(config.queues.deadLetter.name, 'prod-dlq')
  t.match(config.settlements, { queueName: 'prod-settlements', queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/prod-settlements', safetyMarginMs: 60_000 })
})

t.test('booleans, enumerations and secrets are read strictly, and a secret is never echoed', async (t) => {
  t.equal(loadConfig({ TRACING: 'true' }).tracing, true)
  t.equal(loadConfig({}).tracing, false)
  const error = t.throws(() => loadConfig({ TRACING: 'yes', PAYMENT_PROVIDER: 'paypal', STRIPE_SECRET_KEY: 'sk_oops not a key' })) as ConfigError
  t.same(error.problems, [
    'PAYMENT_PROVIDER: expected sandbox or stripe, found "paypal"',
    'STRIPE_SECRET_KEY: expected a Stripe secret key (sk_test_..., sk_live_... or rk_...), found a value that is not shown (it is a secret)',
    'TRACING: expected true or false, found "yes"'
  ])
  t.notMatch(error.message, /sk_oops/)
})

const base64Of = (bytes: number): string => Buffer.alloc(bytes, 7).toString('base64')

t.test('a weak WEBHOOK_SECRETS entry is named by position and never echoed', async (t) => {
  const weakStandard = `whsec_${base64Of(20)}`
  const weakStripe = 'whsec_tooShort'
  const error = t.throws(() => loadConfig({ WEBHOOK_SECRETS: `standard=${weakStandard},stripe=${weakStripe}` })) as ConfigError
  t.same(error.problems, [
    'WEBHOOK_SECRETS entry 1: the standard secret decodes to 20 bytes; 24 to 64 are needed (not shown)',
    'WEBHOOK_SECRETS entry 2: the stripe secret is shorter than 16 characters (not shown)'
  ])
  t.notMatch(error.message, weakStandard.slice('whsec_'.length), 'the standard secret is not repeated')
  t.notMatch(error.message, /tooShort/, 'the stripe secret is not repeated')
})

t.test('a malformed WEBHOOK_SECRETS entry is named by position and never echoed', async (t) => {
  const error = t.throws(() => loadConfig({ WEBHOOK_SECRETS: 'paypal=whsec_leaked_secret_value' })) as ConfigError
  t.match(error.problems, [/^WEBHOOK_SECRETS entry 1: expected <provider>=<secret>/])
  t.notMatch(error.message, /leaked_secret_value/)
})

t.test('a Standard Webhooks secret must decode to 24 to 64 bytes, a Stripe secret be 16 characters or more', async (t) => {
  for (const bytes of [24, 64]) t.same(loadConfig({ WEBHOOK_SECRETS: `standard=whsec_${base64Of(bytes)}` }).webhooks.secrets.standard, [`whsec_${base64Of(bytes)}`], `${bytes} bytes`)
  for (const bytes of [23, 65]) t.throws(() => loadConfig({ WEBHOOK_SECRETS: `standard=whsec_${base64Of(bytes)}` }), { name: 'ConfigError', message: new RegExp(`decodes to ${bytes} bytes`) })
  t.same(loadConfig({ WEBHOOK_SECRETS: `stripe=${'s'.repeat(16)}` }).webhooks.secrets.stripe, ['s'.repeat(16)])
  t.throws(() => loadConfig({ WEBHOOK_SECRETS: `stripe=${'s'.repeat(15)}` }), { name: 'ConfigError', message: /shorter than 16 characters/ })
})

t.test('an integer above its maximum is refused; the maximum itself is read', async (t) => {
  t.equal(loadConfig({ PROVIDER_MAX_ATTEMPTS: '10' }).provider.maxAttempts, 10)
  const error = t.throws(() => loadConfig({ PROVIDER_MAX_ATTEMPTS: '11' })) as ConfigError
  t.same(error.problems, ['PROVIDER_MAX_ATTEMPTS: expected an integer from 1 to 10, found "11"'])
})

t.test('WEBHOOK_SECRETS and WEBHOOK_SECRETS_ARN together are refused', async (t) => {
  const error = t.throws(() => loadConfig({ WEBHOOK_SECRETS: `stripe=${'s'.repeat(16)}`, WEBHOOK_SECRETS_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:paylith-webhooks' })) as ConfigError
  t.same(error.problems, ['WEBHOOK_SECRETS and WEBHOOK_SECRETS_ARN: expected one of them, found both'])
})

t.test('an API_KEYS entry with a second = is refused, not read as its first scope', async (t) => {
  const error = t.throws(() => loadConfig({ API_KEYS: `${'d'.repeat(64)}=admin=payments:read` })) as ConfigError
  t.match(error.problems, [/^API_KEYS entry 1: expected <sha256 hex of the key/])
})

t.test('AWS_REGION accepts a region of every AWS partition and rejects what no partition names', async (t) => {
  // One or more regions of each partition in the SDK's endpoint rules (aws, aws-cn, aws-us-gov, aws-iso*, aws-eusc).
  const valid = ['us-east-1', 'eu-west-3', 'ap-southeast-7', 'mx-central-1', 'il-central-1', 'ca-west-1', 'af-south-1', 'me-central-1', 'sa-east-1',
    'cn-north-1', 'cn-northwest-1', 'us-gov-west-1', 'us-gov-east-1', 'us-iso-east-1', 'us-isob-east-1', 'us-isof-south-1', 'eu-isoe-west-1', 'eusc-de-east-1', 'ap-southeast-12']
  for (const region of valid) t.equal(loadConfig({ AWS_REGION: region }).aws.region, region, region)
  const invalid = ['eu-west', 'us-east-1a', 'US-EAST-1', 'moon-base-1', 'zz-north-1', 'us-east-1 ', 'eusc-fr-east-1', 'us-gov-west', 'eu_west_1', 'arn:aws:us-east-1']
  for (const region of invalid) {
    const error = t.throws(() => loadConfig({ AWS_REGION: region }), region) as ConfigError
    t.same(error.problems, [`AWS_REGION: expected an AWS region such as eu-west-1, us-gov-west-1, cn-north-1 or eusc-de-east-1, found ${JSON.stringify(region)}`])
  }
})

t.test('a FIFO work queue with a standard dead-letter queue (or the reverse) stops the start: SQS refuses such a redrive policy', async (t) => {
  const fifoWork = t.throws(() => loadConfig({ WORK_QUEUE_NAME: 'paylith-work.fifo' })) as ConfigError
  t.same(fifoWork.problems, ['WORK_QUEUE_NAME and DEAD_LETTER_QUEUE_NAME (default): expected two FIFO queues (names ending in .fifo) or two standard queues, found paylith-work.fifo (FIFO) with paylith-work-dlq (standard)'])
  const fifoDeadLetters = t.throws(() => loadConfig({ DEAD_LETTER_QUEUE_NAME: 'dlq.fifo' })) as ConfigError
  t.same(fifoDeadLetters.problems, ['WORK_QUEUE_NAME (default) and DEAD_LETTER_QUEUE_NAME: expected two FIFO queues (names ending in .fifo) or two standard queues, found dlq.fifo (FIFO) with paylith-work (standard)'])
  const lambda = t.throws(() => loadConfig({
    AWS_LAMBDA_FUNCTION_NAME: 'paylith',
    WORK_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/work.fifo',
    DEAD_LETTER_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/dlq',
    SETTLEMENT_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/settlements',
    API_KEYS: `${'a'.repeat(64)}=admin`,
    PAYMENT_PROVIDER: 'sandbox'
  })) as ConfigError
  t.same(lambda.problems, ['WORK_QUEUE_URL and DEAD_LETTER_QUEUE_URL: expected two FIFO queues (names ending in .fifo) or two standard queues, found work.fifo (FIFO) with dlq (standard)'])
})

t.test('two FIFO queues, or two standard ones, are a valid pair', async (t) => {
  t.same(loadConfig({ WORK_QUEUE_NAME: 'work.fifo', DEAD_LETTER_QUEUE_NAME: 'dlq.fifo' }).queues, { work: { name: 'work.fifo', url: undefined }, deadLetter: { name: 'dlq.fifo', url: undefined } })
  t.same(loadConfig({ WORK_QUEUE_NAME: 'work', DEAD_LETTER_QUEUE_NAME: 'dlq' }).queues, { work: { name: 'work', url: undefined }, deadLetter: { name: 'dlq', url: undefined } })
  const badName = t.throws(() => loadConfig({ WORK_QUEUE_NAME: 'bad name!.fifo' })) as ConfigError
  t.equal(badName.problems.length, 1, 'a bad name is its own problem, not also a mismatch')
  t.match(badName.problems[0], /^WORK_QUEUE_NAME: expected an SQS queue name/)
})
