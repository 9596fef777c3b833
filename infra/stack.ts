import { fileURLToPath } from 'node:url'
import {
  CfnOutput,
  Duration,
  RemovalPolicy,
  SecretValue,
  Stack,
  type StackProps,
  aws_apigatewayv2 as apigw,
  aws_apigatewayv2_integrations as integrations,
  aws_cloudwatch as cloudwatch,
  aws_dynamodb as dynamodb,
  aws_events as events,
  aws_events_targets as targets,
  aws_cloudwatch_actions as actions,
  aws_iam as iam,
  aws_kms as kms,
  aws_lambda as lambda,
  aws_lambda_event_sources as sources,
  aws_logs as logs,
  aws_s3 as s3,
  aws_secretsmanager as secretsmanager,
  aws_sns as sns,
  aws_sns_subscriptions as subscriptions,
  aws_sqs as sqs
} from 'aws-cdk-lib'
import type { Construct } from 'constructs'
import { DEAD_LETTER_RETENTION_SECONDS, SETTLEMENT_BUCKET, SETTLEMENT_MAX_RECEIVE_COUNT, TABLE, TABLE_INDEXES, WORK_QUEUE_RETENTION_SECONDS } from '../src/aws/resources.js'
import type { EnvValues } from '../src/config/env.js'
import { AttentionReason } from '../src/domain/payment.js'
import { METRICS_NAMESPACE, MetricName, SecretFallback, SecretName } from '../src/observability/metrics.js'
import type { DeadLetter } from '../src/store/dead-letters.js'
import { SettlementFormat } from '../src/settlements/read-rows.js'

/** What the secrets hold until someone sets them: not a secret, and not a valid value. */
export const UNSET_SECRET = 'unset'

/** What can be tuned per deployment (cdk context or props). */
export interface PaylithStackProps extends StackProps {
  /** Where the built bundle is (`dist/`, with lambda.mjs). */
  codePath?: string
  memoryMb?: number
  timeoutSeconds?: number
  /** Receives before a work message moves to the dead-letter queue. */
  maxReceiveCount?: number
  /** Concurrent invocations an SQS mapping may drive (protects the provider and the table). */
  sqsMaxConcurrency?: number
  /** Items of one stream batch the function handles at once (STREAM_CONCURRENCY). */
  streamConcurrency?: number
  /** HTTP API throttling: steady requests per second and burst. */
  throttle?: { rateLimit: number, burstLimit: number }
  /** `sandbox` or `stripe`. */
  paymentProvider?: 'sandbox' | 'stripe'
  /** X-Ray tracing on the function. */
  tracing?: boolean
  /** An address subscribed to the alarm topic by email (it must confirm the subscription). */
  alarmEmail?: string
  /** The settlement bucket's name: `paylith-settlements-<account>-<region>` unless given (a second stack in one account and region needs its own). */
  settlementBucketName?: string
  /** Days a settlement report under `reports/` is kept. */
  reportRetentionDays?: number
}

/** The providers whose settlement files paylith reads (the discrepancy alarm sums them). */
const SETTLEMENT_PROVIDERS = Object.values(SettlementFormat)

const DEFAULT_CODE_PATH = fileURLToPath(new URL('../dist', import.meta.url))

/** Stream records older than this are discarded rather than retried: well under the stream's 24 hours, so a discarded one can still be read back. */
export const STREAM_RECORD_MAX_AGE = Duration.hours(18)

/** How long each SQS mapping waits to fill a batch. */
/** Every pair of SecretUnavailable dimensions the service emits: each secret, with or without a cached value. */
const SECRET_FAILURES = Object.values(SecretName).flatMap((secret) => Object.values(SecretFallback).map((fallback) => [secret, fallback] as const))

const BATCHING_WINDOW = { work: Duration.seconds(1), deadLetter: Duration.seconds(5), settlement: Duration.seconds(0) }

/**
 * The visibility timeout of a queue the function consumes: six times the function timeout plus
 * the mapping's batching window, so a batch retried after a throttle is not redelivered while
 * it is still being handled. Lambda refuses a mapping on a queue whose visibility timeout is
 * shorter than the function timeout, so a queue left at SQS's default 30 s fails the deploy of
 * any function timeout above 30 s.
 * NOTE: https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
 */
export function queueVisibilityTimeout (functionTimeout: Duration, batchingWindow: Duration): Duration {
  return Duration.seconds(functionTimeout.toSeconds() * 6 + batchingWindow.toSeconds())
}

/**
 * paylith's variables for the function, names checked by the compiler against EnvSchema; an
 * undefined value leaves the variable unset.
 */
export function paylithEnvironment (values: EnvValues): Record<string, string> {
  return Object.fromEntries(Object.entries(values).filter((entry): entry is [string, string] => entry[1] !== undefined))
}

/**
 * paylith in AWS: one function behind an HTTP API, fed by the work queue, the dead-letter
 * queue and the table's stream, with least-privilege IAM. The table and queues are declared
 * from the same definitions the local bootstrap uses (src/aws/resources.ts).
 */
export class PaylithStack extends Stack {
  constructor (scope: Construct, id: string, props: PaylithStackProps = {}) {
    super(scope, id, props)
    const timeout = Duration.seconds(props.timeoutSeconds ?? 30)
    const maxReceiveCount = props.maxReceiveCount ?? 5

    const table = new dynamodb.TableV2(this, 'Table', {
      partitionKey: { name: TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE.sortKey, type: dynamodb.AttributeType.STRING },
      billing: dynamodb.Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      dynamoStream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
      timeToLiveAttribute: TABLE.ttlAttribute,
      // DynamoDB adds or removes one index per table update and changes no index's keys or
      // projection in place, so a different index is a new one (GSI3 came this way).
      // NOTE: https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateTable.html
      globalSecondaryIndexes: TABLE_INDEXES.map((index) => ({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: index.sortKey, type: dynamodb.AttributeType.STRING },
        ...(index.projection === 'ALL'
          ? { projectionType: dynamodb.ProjectionType.ALL }
          : { projectionType: dynamodb.ProjectionType.INCLUDE, nonKeyAttributes: [...index.projection] })
      })),
      removalPolicy: RemovalPolicy.RETAIN
    })

    // The function consumes both queues, so both follow Lambda's visibility rule. The dead-letter
    // queue keeps messages longer than the work queue: a moved message expires by its first send.
    const deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      retentionPeriod: Duration.seconds(DEAD_LETTER_RETENTION_SECONDS),
      visibilityTimeout: queueVisibilityTimeout(timeout, BATCHING_WINDOW.deadLetter),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true
    })
    const workVisibilityTimeout = queueVisibilityTimeout(timeout, BATCHING_WINDOW.work)
    const workQueue = new sqs.Queue(this, 'WorkQueue', {
      retentionPeriod: Duration.seconds(WORK_QUEUE_RETENTION_SECONDS),
      visibilityTimeout: workVisibilityTimeout,
      deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount },
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true
    })

    // Settlement files: S3 notifies a queue of its own (with its own dead-letter queue), so a file
    // that fails is retried and then kept, never lost. The bucket is named up front so the
    // queue's policy can name it without a dependency cycle (the bucket must come after the
    // policy: S3 checks it may send when the notification is set, and sends an s3:TestEvent).
    // NOTE: https://docs.aws.amazon.com/AmazonS3/latest/userguide/ways-to-add-notification-config-to-bucket.html
    const settlementBucketName = props.settlementBucketName ?? `paylith-settlements-${this.account}-${this.region}`
    const settlementBucketArn = `arn:${this.partition}:s3:::${settlementBucketName}`
    const settlementDeadLetterQueue = new sqs.Queue(this, 'SettlementDeadLetterQueue', {
      retentionPeriod: Duration.seconds(DEAD_LETTER_RETENTION_SECONDS),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true
    })
    const settlementQueue = new sqs.Queue(this, 'SettlementQueue', {
      retentionPeriod: Duration.seconds(WORK_QUEUE_RETENTION_SECONDS),
      visibilityTimeout: queueVisibilityTimeout(timeout, BATCHING_WINDOW.settlement),
      deadLetterQueue: { queue: settlementDeadLetterQueue, maxReceiveCount: SETTLEMENT_MAX_RECEIVE_COUNT },
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true
    })
    settlementQueue.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'SettlementBucketNotifies',
      principals: [new iam.ServicePrincipal('s3.amazonaws.com')],
      actions: ['sqs:SendMessage'],
      resources: [settlementQueue.queueArn],
      conditions: { ArnEquals: { 'aws:SourceArn': settlementBucketArn }, StringEquals: { 'aws:SourceAccount': this.account } }
    }))
    const settlementBucket = new s3.Bucket(this, 'SettlementBucket', {
      bucketName: settlementBucketName,
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      // A report's multipart upload that the function could not abort (cut by its timeout) is
      // never an object; S3 aborts it, and frees its parts, a day later.
      // NOTE: https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpu-abort-incomplete-mpu-lifecycle-config.html
      lifecycleRules: [{ id: 'ExpireReports', prefix: SETTLEMENT_BUCKET.reportsPrefix, expiration: Duration.days(props.reportRetentionDays ?? 90), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
      removalPolicy: RemovalPolicy.RETAIN
    })
    const cfnSettlementBucket = settlementBucket.node.defaultChild as s3.CfnBucket
    cfnSettlementBucket.notificationConfiguration = {
      queueConfigurations: SETTLEMENT_BUCKET.events.map((event) => ({
        event,
        queue: settlementQueue.queueArn,
        filter: { s3Key: { rules: [{ name: 'prefix', value: SETTLEMENT_BUCKET.filesPrefix }] } }
      }))
    }
    // The queue's one policy (enforceSSL's statement and the one above), made by addToResourcePolicy.
    settlementBucket.node.addDependency(settlementQueue.node.findChild('Policy'))

    // Created holding a visible placeholder, not a generated random value that looks like a
    // key: until put-secret-value sets them, the function refuses them clearly (it never caches one).
    const webhookSecrets = new secretsmanager.Secret(this, 'WebhookSecrets', {
      description: 'paylith WEBHOOK_SECRETS: comma-separated <provider>=<secret> entries. Set its value after the first deploy.',
      secretStringValue: SecretValue.unsafePlainText(UNSET_SECRET)
    })
    // The API keys' hashes live in a secret of their own, not in API_KEYS: Lambda allows 4 KB for all
    // of a function's variables (about 30 keys), a secret 64 KB (about 600); and a key added to it
    // works without a deploy. Its own secret, not a field of the webhook one: a bad edit of either
    // cannot take the other down, and it keeps API_KEYS's text as it is.
    // NOTE: https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html
    const apiKeys = new secretsmanager.Secret(this, 'ApiKeysSecret', {
      description: 'paylith API keys (the text of API_KEYS): comma-separated <sha256 hex of the key>=<scope>|<scope> entries. Set its value after the first deploy.',
      secretStringValue: SecretValue.unsafePlainText(UNSET_SECRET)
    })
    const stripeKey = new secretsmanager.Secret(this, 'StripeSecretKey', {
      description: 'paylith Stripe secret key (sk_live_... or rk_live_...). Set its value after the first deploy.',
      secretStringValue: SecretValue.unsafePlainText(UNSET_SECRET)
    })

    const logGroup = new logs.LogGroup(this, 'FunctionLogs', { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY })
    const fn = new lambda.Function(this, 'Function', {
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      handler: 'lambda.handler',
      code: lambda.Code.fromAsset(props.codePath ?? DEFAULT_CODE_PATH, { exclude: ['*.map', '*.json'] }),
      memorySize: props.memoryMb ?? 1024,
      timeout,
      // A settlement file longer than an invocation continues through the settlement queue: the
      // function sends itself a message, a chain Lambda's loop detection stops after 16
      // invocations (a 1,000,000-row file takes 13-70 invocations of 15 s at the default timeout). The
      // chain is bounded by design (each run reads at least a row, each run's continuation is
      // sent once: src/workers/settlement.ts), and it is the function's only SQS loop.
      // NOTE: https://docs.aws.amazon.com/lambda/latest/dg/invocation-recursion.html
      recursiveLoop: lambda.RecursiveLoop.ALLOW,
      logGroup,
      tracing: props.tracing === true ? lambda.Tracing.ACTIVE : lambda.Tracing.DISABLED,
      // paylith's variables only. No NODE_OPTIONS: the asset has no source maps, so
      // `--enable-source-maps` (set until 2026-11-29) did nothing but cost each cold start ~1 %.
      environment: {
        ...paylithEnvironment({
          TABLE_NAME: table.tableName,
          WORK_QUEUE_URL: workQueue.queueUrl,
          DEAD_LETTER_QUEUE_URL: deadLetterQueue.queueUrl,
          MAX_RECEIVE_COUNT: String(maxReceiveCount),
          VISIBILITY_TIMEOUT_SECONDS: String(workVisibilityTimeout.toSeconds()),
          API_KEYS_SECRET_ARN: apiKeys.secretArn,
          PAYMENT_PROVIDER: props.paymentProvider ?? 'stripe',
          WEBHOOK_SECRETS_ARN: webhookSecrets.secretArn,
          STRIPE_SECRET_ARN: props.paymentProvider === 'sandbox' ? undefined : stripeKey.secretArn,
          TRACING: props.tracing === true ? 'true' : undefined,
          STREAM_CONCURRENCY: String(props.streamConcurrency ?? 10),
          SETTLEMENT_BUCKET_NAME: settlementBucketName,
          SETTLEMENT_QUEUE_NAME: settlementQueue.queueName,
          SETTLEMENT_QUEUE_URL: settlementQueue.queueUrl,
          SETTLEMENT_DEAD_LETTER_QUEUE_NAME: settlementDeadLetterQueue.queueName
        })
      }
    })

    // Least privilege: exactly the actions the code calls (test/infra/stack.test.ts reads them from
    // src/), only on its own resources. Items and DescribeTable (the readiness probe) on the table;
    // Query also on the indexes the listings and the sweeper read. A transaction needs the action
    // of each of its items (Put, Update: nothing else is written in one), not an action of its own.
    // NOTE: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html
    fn.addToRolePolicy(new iam.PolicyStatement({
      sid: 'TableItems',
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query', 'dynamodb:DescribeTable', 'dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem'],
      resources: [table.tableArn]
    }))
    // Settlement files are read, only under settlements/. PutObject there is what the presigned upload
    // URLs of POST /v1/settlements may do: S3 authorises such a PUT as the role that signed it.
    // NOTE: https://docs.aws.amazon.com/AmazonS3/latest/userguide/PresignedUrlUploadObject.html
    fn.addToRolePolicy(new iam.PolicyStatement({
      sid: 'SettlementFiles',
      actions: ['s3:GetObject', 's3:PutObject'],
      resources: [settlementBucket.arnForObjects(`${SETTLEMENT_BUCKET.filesPrefix}*`)]
    }))
    // Reports are written under reports/ with a multipart upload: creating one, uploading its parts
    // and completing it are all authorised by s3:PutObject; aborting a failed one needs its own action.
    // NOTE: https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html#mpuAndPermissions
    fn.addToRolePolicy(new iam.PolicyStatement({
      sid: 'WriteSettlementReports',
      actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
      resources: [settlementBucket.arnForObjects(`${SETTLEMENT_BUCKET.reportsPrefix}*`)]
    }))
    fn.addToRolePolicy(new iam.PolicyStatement({
      sid: 'IndexQueries',
      actions: ['dynamodb:Query'],
      resources: TABLE_INDEXES.map((index) => `${table.tableArn}/index/${index.name}`)
    }))
    // SendMessage also covers SendMessageBatch; ChangeMessageVisibility is how a deferred charge
    // waits on a FIFO work queue (src/queue/work-queue.ts `defer`).
    fn.addToRolePolicy(new iam.PolicyStatement({
      sid: 'SendCommands',
      actions: ['sqs:SendMessage', 'sqs:ChangeMessageVisibility'],
      resources: [workQueue.queueArn]
    }))
    // A settlement file that outlasts an invocation continues in the next: the worker sends the
    // settlement queue a continuation message (src/workers/settlement.ts).
    fn.addToRolePolicy(new iam.PolicyStatement({
      sid: 'ContinueSettlements',
      actions: ['sqs:SendMessage'],
      resources: [settlementQueue.queueArn]
    }))
    fn.addToRolePolicy(new iam.PolicyStatement({
      sid: 'ReadSecrets',
      actions: ['secretsmanager:GetSecretValue'],
      resources: [apiKeys.secretArn, webhookSecrets.secretArn, ...(props.paymentProvider === 'sandbox' ? [] : [stripeKey.secretArn])]
    }))
    // What the mappings need, granted here rather than by the CDK's event sources, which add
    // GetQueueUrl and ChangeMessageVisibility (SQS) and GetQueueAttributes and GetQueueUrl
    // (on-failure destination) that Lambda does not use. An SQS mapping receives, deletes and reads
    // the queue's attributes; a stream mapping's SQS on-failure destination is sent to.
    // NOTE: https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html (execution role permissions)
    // NOTE: https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html
    fn.addToRolePolicy(new iam.PolicyStatement({
      sid: 'ConsumeQueues',
      actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
      resources: [workQueue.queueArn, deadLetterQueue.queueArn, settlementQueue.queueArn]
    }))
    fn.addToRolePolicy(new iam.PolicyStatement({
      sid: 'StreamFailuresToDeadLetterQueue',
      actions: ['sqs:SendMessage'],
      resources: [deadLetterQueue.queueArn]
    }))

    fn.addEventSourceMapping('WorkQueueMapping', {
      eventSourceArn: workQueue.queueArn,
      batchSize: 10,
      maxBatchingWindow: BATCHING_WINDOW.work,
      reportBatchItemFailures: true,
      maxConcurrency: props.sqsMaxConcurrency ?? 10
    })
    fn.addEventSourceMapping('DeadLetterQueueMapping', {
      eventSourceArn: deadLetterQueue.queueArn,
      batchSize: 10,
      maxBatchingWindow: BATCHING_WINDOW.deadLetter,
      reportBatchItemFailures: true,
      maxConcurrency: 2
    })
    // One file a batch: each is long, and one that fails is retried alone. Its dead-letter queue
    // has no mapping: a file there waits for a person (SettlementDeadLetterQueueDepth).
    fn.addEventSourceMapping('SettlementQueueMapping', {
      eventSourceArn: settlementQueue.queueArn,
      batchSize: 1,
      reportBatchItemFailures: true,
      maxConcurrency: 2
    })
    // The stream is the outbox: its lag is create → charge command. No batching window: a 1 s
    // window adds up to 1 s to every payment's lag when traffic is light (half the 2 s p99
    // budget), while under load batches fill to batchSize without waiting; the price is more,
    // smaller invocations when quiet. Parallelization 2: Lambda keeps records of one partition
    // key (and so of one item) in order across a shard's concurrent batches, so per-item order
    // holds; each batch already runs STREAM_CONCURRENCY items at once, so a shard has up to
    // 2 x STREAM_CONCURRENCY relays in flight (SQS sends and summary transactions), which
    // doubles its headroom for a burst without crowding one table partition (1,000 writes/s)
    // or one customer's summary item, whose concurrent transactions conflict and retry.
    // https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html
    // A discarded batch's on-failure message names only its range; the dead-letter worker reads
    // the records back from the stream, which keeps them 24 hours. Records are discarded by age
    // at STREAM_RECORD_MAX_AGE (18 h), so even those are still there, with 6 hours to spare for
    // the dead-letter queue's mapping to deliver the message.
    // NOTE: https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html
    fn.addEventSource(new sources.DynamoEventSource(table, {
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: 100,
      maxBatchingWindow: Duration.seconds(0),
      reportBatchItemFailures: true,
      bisectBatchOnError: true,
      retryAttempts: 10,
      maxRecordAge: STREAM_RECORD_MAX_AGE,
      parallelizationFactor: 2,
      // The destination without the CDK's grant (StreamFailuresToDeadLetterQueue above is the one needed).
      onFailure: { bind: () => ({ destination: deadLetterQueue.queueArn }) }
    }))

    // The sweeper: every five minutes, re-send charge commands for payments that stopped moving.
    new events.Rule(this, 'SweepSchedule', {
      description: 'paylith sweeper: payments left pending or processing get their charge command again.',
      schedule: events.Schedule.rate(Duration.minutes(5)),
      targets: [new targets.LambdaFunction(fn, { retryAttempts: 2 })]
    })

    const api = new apigw.HttpApi(this, 'HttpApi', {
      description: 'paylith payments API',
      createDefaultStage: false,
      defaultIntegration: new integrations.HttpLambdaIntegration('Function', fn, { payloadFormatVersion: apigw.PayloadFormatVersion.VERSION_2_0 })
    })
    const throttle = props.throttle ?? { rateLimit: 100, burstLimit: 200 }
    api.addStage('DefaultStage', { stageName: '$default', autoDeploy: true, throttle })

    // Alarms reach someone: every alarm (and its return to OK) is published to one topic,
    // encrypted with a key of the stack's own. NOTE: CloudWatch cannot publish to a topic
    // encrypted with the AWS-managed alias/aws/sns key, whose policy cannot be changed; the key
    // policy and the topic policy let only this stack's alarms (by name) use them.
    // https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
    const alarmNamePrefix = `${this.stackName}-`
    const fromOwnAlarms = {
      StringEquals: { 'aws:SourceAccount': this.account },
      ArnLike: { 'aws:SourceArn': `arn:${this.partition}:cloudwatch:${this.region}:${this.account}:alarm:${alarmNamePrefix}*` }
    }
    const cloudwatchService = new iam.ServicePrincipal('cloudwatch.amazonaws.com')
    const alarmKey = new kms.Key(this, 'AlarmTopicKey', {
      description: 'paylith: encrypts the alarm topic.',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY
    })
    alarmKey.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'AlarmsPublishToTheEncryptedTopic',
      principals: [cloudwatchService],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
      conditions: fromOwnAlarms
    }))
    const alarmTopic = new sns.Topic(this, 'AlarmTopic', { displayName: 'paylith alarms', masterKey: alarmKey, enforceSSL: true })
    alarmTopic.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'AlarmsPublish',
      principals: [cloudwatchService],
      actions: ['sns:Publish'],
      resources: [alarmTopic.topicArn],
      conditions: fromOwnAlarms
    }))
    if (props.alarmEmail !== undefined) alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail))
    const notify = new actions.SnsAction(alarmTopic)

    // Alarms: anything in the DLQ or recorded as a dead letter, a stuck stream, payments needing a
    // person, function errors, throttles, slow p99.
    const alarm = (id: string, alarmDescription: string, metric: cloudwatch.IMetric, options: { threshold?: number, comparisonOperator?: cloudwatch.ComparisonOperator, evaluationPeriods?: number, datapointsToAlarm?: number } = {}): void => {
      const created = new cloudwatch.Alarm(this, id, {
        alarmName: `${alarmNamePrefix}${id}`,
        alarmDescription,
        metric,
        threshold: options.threshold ?? 0,
        comparisonOperator: options.comparisonOperator ?? cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: options.evaluationPeriods ?? 1,
        ...(options.datapointsToAlarm !== undefined && { datapointsToAlarm: options.datapointsToAlarm }),
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING
      })
      created.addAlarmAction(notify)
      created.addOkAction(notify)
    }
    alarm('DeadLetterQueueDepth', 'Messages are waiting in the paylith dead-letter queue.',
      deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }))
    // The DLQ worker drains the queue within seconds, so depth alone rarely shows: alarm on the
    // DeadLetters metric the worker emits (EMF) for every message it records. One dead letter in
    // one minute is enough: the operations team hears of each.
    const deadLetters = (kind: DeadLetter['kind']) => new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName: MetricName.deadLetters, dimensionsMap: { kind }, statistic: 'Sum', period: Duration.minutes(1) })
    alarm('DeadLettersRecorded', 'paylith recorded dead letters: a message or a stream batch exhausted its retries.', new cloudwatch.MathExpression({
      expression: 'FILL(messages, 0) + FILL(streamBatches, 0)',
      usingMetrics: { messages: deadLetters('message'), streamBatches: deadLetters('stream-batch') },
      period: Duration.minutes(1)
    }), { threshold: 1, comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD, evaluationPeriods: 1, datapointsToAlarm: 1 })
    // A stuck stream alerts: a partial batch response is a successful invocation, so it never
    // counts in Errors. IteratorAge (how old a batch's last record was when Lambda read it) climbs
    // while a shard retries one batch; Lambda emits it per function (dimension FunctionName), and
    // the table's stream is this function's only stream mapping, so it is the mapping's.
    // NOTE: https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html
    alarm('StreamIteratorAge', 'The table stream is stuck or falling behind: its records are over a minute old when paylith reads them.',
      fn.metric('IteratorAge', { period: Duration.minutes(1), statistic: 'Maximum' }), { threshold: 60_000, evaluationPeriods: 3, datapointsToAlarm: 3 })
    // The stream worker counts the records it reports failed (BatchItemFailures, source
    // table-stream): failures three minutes running mean a shard is retrying the same batch.
    alarm('StreamBatchItemFailures', 'The table stream worker keeps reporting failed records: a shard is retrying the same batch.',
      new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName: MetricName.batchItemFailures, dimensionsMap: { source: 'table-stream' }, statistic: 'Sum', period: Duration.minutes(1) }),
      { evaluationPeriods: 3, datapointsToAlarm: 3 })
    // The sweeper (every five minutes) flags payments a person must look at: each one is heard of.
    const attentionReasons = Object.values(AttentionReason)
    const needAttention = (metricName: MetricName) => new cloudwatch.MathExpression({
      expression: attentionReasons.map((_, index) => `FILL(reason${index}, 0)`).join(' + '),
      usingMetrics: Object.fromEntries(attentionReasons.map((reason, index) => [`reason${index}`, new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { reason }, statistic: 'Sum', period: Duration.minutes(5)
      })])),
      period: Duration.minutes(5)
    })
    alarm('PaymentsNeedAttention', 'The paylith sweeper flagged payments that need a person.', needAttention(MetricName.paymentsNeedAttention),
      { threshold: 1, comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD })
    // Likewise refunds: one still pending that the sweeper gave up on, or too old to re-send, holds its reservation.
    alarm('RefundsNeedAttention', 'The paylith sweeper flagged pending refunds that need a person.', needAttention(MetricName.refundsNeedAttention),
      { threshold: 1, comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD })
    // A secret that cannot be read: with none cached, requests that need it are answered 503;
    // with one cached, a key or secret changed since is not seen. Either way someone must know.
    const secretReads = SECRET_FAILURES.map(([secret, fallback]) => new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE, metricName: MetricName.secretUnavailable, dimensionsMap: { secret, fallback }, statistic: 'Sum', period: Duration.minutes(5)
    }))
    alarm('SecretsUnavailable', 'paylith could not read its API keys or webhook secrets from Secrets Manager.', new cloudwatch.MathExpression({
      expression: secretReads.map((_, index) => `FILL(read${index}, 0)`).join(' + '),
      usingMetrics: Object.fromEntries(secretReads.map((metric, index) => [`read${index}`, metric])),
      period: Duration.minutes(5)
    }), { threshold: 1, comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD })
    // A charge the provider refused as misconfigured (a bad or unset key, a refused parameter):
    // every payment stays processing until someone fixes it, so the first one is heard of.
    alarm('ProviderMisconfigured', 'The payment provider refused a charge as misconfigured (a bad or unset key, a refused parameter): payments wait until it is fixed.',
      new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName: MetricName.providerMisconfigured, dimensionsMap: { provider: props.paymentProvider ?? 'stripe' }, statistic: 'Sum', period: Duration.minutes(5) }),
      { threshold: 1, comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD })
    // The webhook safety net stopped re-sending an event it could not get applied: a person must look.
    alarm('WebhooksGivenUp', 'The webhook safety net gave up on a stored provider event it could not get applied.',
      new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName: MetricName.webhooksGivenUp, statistic: 'Sum', period: Duration.minutes(5) }),
      { threshold: 1, comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD })
    alarm('SettlementDeadLetterQueueDepth', 'A settlement file failed three times: its message waits in the settlement dead-letter queue.',
      settlementDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }))
    // Every discrepancy is heard of: the worker counts them per provider (SettlementDiscrepancies).
    alarm('SettlementDiscrepancies', 'A reconciled settlement file has rows that do not match paylith\'s payments.', new cloudwatch.MathExpression({
      expression: SETTLEMENT_PROVIDERS.map((provider) => `FILL(${provider}, 0)`).join(' + '),
      usingMetrics: Object.fromEntries(SETTLEMENT_PROVIDERS.map((provider) => [provider, new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE, metricName: MetricName.settlementDiscrepancies, dimensionsMap: { provider }, statistic: 'Sum', period: Duration.minutes(5)
      })])),
      period: Duration.minutes(5)
    }), { threshold: 1, comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD })
    alarm('FunctionErrors', 'The paylith function is failing invocations.', fn.metricErrors({ period: Duration.minutes(1), statistic: 'Sum' }), { evaluationPeriods: 3, datapointsToAlarm: 2 })
    alarm('FunctionThrottles', 'The paylith function is being throttled.', fn.metricThrottles({ period: Duration.minutes(1), statistic: 'Sum' }))
    alarm('FunctionDurationP99', 'paylith p99 duration is above 80% of the timeout.', fn.metricDuration({ period: Duration.minutes(5), statistic: 'p99' }), { threshold: timeout.toMilliseconds() * 0.8, evaluationPeriods: 3 })

    new CfnOutput(this, 'ApiUrl', { value: api.apiEndpoint })
    new CfnOutput(this, 'ApiKeysSecretArn', { value: apiKeys.secretArn })
    new CfnOutput(this, 'WebhookSecretsArn', { value: webhookSecrets.secretArn })
    new CfnOutput(this, 'StripeSecretKeyArn', { value: stripeKey.secretArn })
    new CfnOutput(this, 'AlarmTopicArn', { value: alarmTopic.topicArn })
    new CfnOutput(this, 'SettlementBucketName', { value: settlementBucket.bucketName })
  }
}
