import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { App } from 'aws-cdk-lib'
import { Match, Template } from 'aws-cdk-lib/assertions'
import t from 'tap'
import { propsFromContext } from '../../infra/context.js'
import { PaylithStack, paylithEnvironment } from '../../infra/stack.js'
import { AttentionReason } from '../../src/domain/payment.js'
import { DEAD_LETTER_RETENTION_SECONDS, TABLE, WORK_QUEUE_RETENTION_SECONDS, indexDefinition } from '../../src/aws/resources.js'
import { EnvSchema } from '../../src/config/env.js'
import { tempDir } from '../helpers/temp-dir.js'

// The stack synthesised offline, with a stand-in bundle so the test does not depend on dist/.
const code = tempDir('paylith-code-')
writeFileSync(join(code, 'lambda.mjs'), 'export const handler = async () => ({})\n')
const app = new App({ outdir: tempDir('paylith-cdk-') })
const stack = new PaylithStack(app, 'Test', { codePath: code, timeoutSeconds: 20, memoryMb: 512 })
const template = Template.fromStack(stack)
const resources = (type: string) => template.findResources(type)
/** How many resources of `type` have (at least) these properties. */
const matching = (type: string, properties: Record<string, unknown>): number => Object.keys(template.findResources(type, { Properties: properties })).length
const only = <T>(type: string): T => {
  const found = Object.values(resources(type))
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`)
  return found[0] as T
}

t.test('the function: nodejs22.x on arm64, from dist/lambda.mjs, with its configuration', async (t) => {
  template.hasResourceProperties('AWS::Lambda::Function', {
    Runtime: 'nodejs22.x',
    Architectures: ['arm64'],
    Handler: 'lambda.handler',
    MemorySize: 512,
    Timeout: 20,
    Environment: {
      Variables: Match.objectLike({
        TABLE_NAME: Match.anyValue(),
        WORK_QUEUE_URL: Match.anyValue(),
        DEAD_LETTER_QUEUE_URL: Match.anyValue(),
        SETTLEMENT_QUEUE_URL: { Ref: Match.stringLikeRegexp('^SettlementQueue') },
        API_KEYS_SECRET_ARN: { Ref: Match.stringLikeRegexp('^ApiKeysSecret') },
        PAYMENT_PROVIDER: 'stripe',
        WEBHOOK_SECRETS_ARN: Match.anyValue(),
        STRIPE_SECRET_ARN: Match.anyValue(),
        STREAM_CONCURRENCY: '10'
      })
    }
  })
  t.equal(Object.keys(resources('AWS::Lambda::Function')).length, 1, 'one function: a Lambdalith')
})

t.test('the function may run in a loop through the settlement queue: a long file\'s continuations are more than the 16 Lambda stops a loop at', async (t) => {
  const fn = only<{ Properties: { RecursiveLoop?: string } }>('AWS::Lambda::Function')
  t.equal(fn.Properties.RecursiveLoop, 'Allow')
})

t.test('the API keys come from their own Secrets Manager secret, not from the 4 KB of environment variables', async (t) => {
  const fn = only<{ Properties: { Environment: { Variables: Record<string, unknown> } } }>('AWS::Lambda::Function')
  t.notOk('API_KEYS' in fn.Properties.Environment.Variables, 'no key hashes in the environment')
  t.equal(template.toJSON().Parameters?.ApiKeys, undefined, 'nor in a stack parameter')
  const [secretId] = Object.keys(template.findResources('AWS::SecretsManager::Secret', { Properties: { Description: Match.stringLikeRegexp('API keys') } }))
  t.match(secretId, /^ApiKeysSecret/, 'a secret of their own')
  t.same(fn.Properties.Environment.Variables.API_KEYS_SECRET_ARN, { Ref: secretId }, 'named to the function by API_KEYS_SECRET_ARN')
  template.hasOutput('ApiKeysSecretArn', { Value: { Ref: secretId } })
  const reads = statements().filter((statement) => JSON.stringify(statement.Resource).includes(secretId ?? '-'))
  t.same(reads.map((statement) => actionsOf(statement)), [['secretsmanager:GetSecretValue']], 'the function may only read it')
})

t.test('the table: on demand, point-in-time recovery, stream, TTL, GSI1, GSI2 and GSI3 from the shared definition', async (t) => {
  t.equal(matching('AWS::DynamoDB::GlobalTable', {
    BillingMode: 'PAY_PER_REQUEST',
    KeySchema: [{ AttributeName: TABLE.partitionKey, KeyType: 'HASH' }, { AttributeName: TABLE.sortKey, KeyType: 'RANGE' }],
    StreamSpecification: { StreamViewType: TABLE.streamViewType },
    TimeToLiveSpecification: { AttributeName: TABLE.ttlAttribute, Enabled: true },
    GlobalSecondaryIndexes: [TABLE.gsi1, TABLE.gsi2, TABLE.gsi3].map((index) => Match.objectLike({
      IndexName: index.name,
      KeySchema: [{ AttributeName: index.partitionKey, KeyType: 'HASH' }, { AttributeName: index.sortKey, KeyType: 'RANGE' }],
      Projection: indexDefinition(index).Projection
    })),
    Replicas: [Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } })]
  }), 1, 'the one table has every one of these properties')
})

t.test('the unsharded indexes hold whole items; the unsettled index (GSI3) only what the sweeper reads', async (t) => {
  const table = only<{ Properties: { GlobalSecondaryIndexes: Array<{ IndexName: string, Projection: unknown }> } }>('AWS::DynamoDB::GlobalTable')
  t.same(table.Properties.GlobalSecondaryIndexes.map((index) => [index.IndexName, index.Projection]), [
    ['GSI1', { ProjectionType: 'ALL' }],
    ['GSI2', { ProjectionType: 'ALL' }],
    ['GSI3', { ProjectionType: 'INCLUDE', NonKeyAttributes: ['id', 'createdAt', 'version', 'attention', 'resends'] }]
  ])
})

t.test('the work queue redrives to the DLQ after 5 receives, with a visibility timeout of 6x the function timeout plus its 1 s batching window', async (t) => {
  template.hasResourceProperties('AWS::SQS::Queue', {
    VisibilityTimeout: 121,
    MessageRetentionPeriod: WORK_QUEUE_RETENTION_SECONDS,
    RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('DeadLetterQueue'), 'Arn'] }, maxReceiveCount: 5 }
  })
  t.equal(Object.keys(resources('AWS::SQS::Queue')).length, 4, 'the work queue and the settlement queue, each with its dead-letter queue')
})

interface QueueResource { Properties: { VisibilityTimeout?: number, MessageRetentionPeriod?: number } }
interface MappingResource { Properties: { EventSourceArn: { 'Fn::GetAtt'?: [string, string] }, MaximumBatchingWindowInSeconds?: number } }
interface FunctionResource { Properties: { Timeout: number, Environment: { Variables: Record<string, unknown> } } }
/** Each SQS queue the function consumes, with the mapping that consumes it and the function's timeout. */
function consumedQueues (template: Template): Array<{ id: string, queue: QueueResource, mapping: MappingResource, functionTimeout: number }> {
  const queues = template.findResources('AWS::SQS::Queue') as Record<string, QueueResource>
  const fn = Object.values(template.findResources('AWS::Lambda::Function'))[0] as FunctionResource
  return (Object.values(template.findResources('AWS::Lambda::EventSourceMapping')) as MappingResource[]).flatMap((mapping) => {
    const id = mapping.Properties.EventSourceArn['Fn::GetAtt']?.[0] ?? ''
    const queue = queues[id]
    return queue === undefined ? [] : [{ id, queue, mapping, functionTimeout: fn.Properties.Timeout }]
  })
}

t.test('-c timeoutSeconds=60: both queues the function consumes hide a message for 6x the timeout plus their batching window (Lambda refuses less than the timeout)', async (t) => {
  const app = new App({ outdir: tempDir('paylith-cdk-'), context: { timeoutSeconds: '60' } })
  const minute = Template.fromStack(new PaylithStack(app, 'Minute', { codePath: code, ...propsFromContext(app) }))
  const consumed = consumedQueues(minute)
  t.same(consumed.map((c) => c.id.replace(/[0-9A-F]{8}$/, '')).sort(), ['DeadLetterQueue', 'SettlementQueue', 'WorkQueue'])
  for (const { id, queue, mapping, functionTimeout } of consumed) {
    t.equal(functionTimeout, 60, 'the context reached the function')
    const window = mapping.Properties.MaximumBatchingWindowInSeconds ?? 0
    t.equal(queue.Properties.VisibilityTimeout, 6 * 60 + window, `${id}: 6 x 60 s + ${window} s`)
  }
  const fn = Object.values(minute.findResources('AWS::Lambda::Function'))[0] as FunctionResource
  t.equal(fn.Properties.Environment.Variables.VISIBILITY_TIMEOUT_SECONDS, '361', 'the function is told the work queue\'s')
})

t.test('the dead-letter queue keeps messages longer than the work queue: a moved message expires by its first send', async (t) => {
  const queues = template.findResources('AWS::SQS::Queue') as Record<string, QueueResource>
  const retention = (name: string): number => Object.entries(queues).find(([id]) => id.startsWith(name))?.[1].Properties.MessageRetentionPeriod ?? 0
  t.equal(retention('DeadLetterQueue'), DEAD_LETTER_RETENTION_SECONDS)
  t.equal(retention('WorkQueue'), WORK_QUEUE_RETENTION_SECONDS)
  t.ok(retention('DeadLetterQueue') - retention('WorkQueue') >= 7 * 86_400, 'a dead letter is kept at least 7 days after it moves')
})

t.test('event source mappings report batch item failures; the stream one bisects, retries boundedly, has an on-failure destination and is tuned for relay lag', async (t) => {
  const mappings = Object.values(resources('AWS::Lambda::EventSourceMapping')) as Array<{ Properties: Record<string, unknown> }>
  t.equal(mappings.length, 4, 'work queue, dead-letter queue, settlement queue and stream')
  for (const mapping of mappings) t.same(mapping.Properties.FunctionResponseTypes, ['ReportBatchItemFailures'])
  template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
    EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('WorkQueue'), 'Arn'] },
    BatchSize: 10,
    MaximumBatchingWindowInSeconds: 1,
    ScalingConfig: { MaximumConcurrency: 10 }
  })
  template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
    EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('Table'), 'StreamArn'] },
    StartingPosition: 'TRIM_HORIZON',
    BatchSize: 100,
    MaximumBatchingWindowInSeconds: 0,
    ParallelizationFactor: 2,
    BisectBatchOnFunctionError: true,
    MaximumRetryAttempts: 10,
    MaximumRecordAgeInSeconds: 18 * 3600,
    DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('DeadLetterQueue'), 'Arn'] } } }
  })
})

t.test('a stream batch discarded for its age can still be read back from the stream (it keeps records 24 hours)', async (t) => {
  const stream = (Object.values(resources('AWS::Lambda::EventSourceMapping')) as Array<{ Properties: { EventSourceArn: unknown, MaximumRecordAgeInSeconds?: number, DestinationConfig?: unknown } }>)
    .find((mapping) => JSON.stringify(mapping.Properties.EventSourceArn).includes('StreamArn'))
  t.ok(stream?.Properties.MaximumRecordAgeInSeconds !== undefined && stream.Properties.MaximumRecordAgeInSeconds > 0, 'records are discarded by age')
  t.ok((stream?.Properties.MaximumRecordAgeInSeconds ?? Infinity) <= 24 * 3600 - 6 * 3600, 'at least 6 hours before the stream trims them')
  t.ok(grants().includes('dynamodb:GetShardIterator Table/stream') && grants().includes('dynamodb:GetRecords Table/stream'), 'the function may read the stream back')
})

t.test('an HTTP API with the $default stage, throttled, in front of the function', async (t) => {
  t.equal(matching('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' }), 1, 'an HTTP API')
  t.equal(matching('AWS::ApiGatewayV2::Stage', {
    StageName: '$default',
    AutoDeploy: true,
    DefaultRouteSettings: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 }
  }), 1, 'its $default stage, auto-deployed and throttled')
  t.equal(matching('AWS::ApiGatewayV2::Integration', { IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' }), 1, 'a payload 2.0 proxy integration')
})

t.test('a schedule invokes the function every five minutes for the sweeper', async (t) => {
  t.equal(matching('AWS::Events::Rule', {
    ScheduleExpression: 'rate(5 minutes)',
    State: 'ENABLED',
    Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('Function'), 'Arn'] } })]
  }), 1, 'one enabled five-minute rule targets the function')
  t.equal(matching('AWS::Lambda::Permission', { Principal: 'events.amazonaws.com' }), 1, 'and EventBridge may invoke it')
})

t.test('secrets live in Secrets Manager', async (t) => {
  t.equal(Object.keys(resources('AWS::SecretsManager::Secret')).length, 3, 'API keys, webhook secrets and the Stripe key')
  t.equal(matching('AWS::SecretsManager::Secret', { SecretString: 'unset', GenerateSecretString: Match.absent() }), 3, 'each created unset, not with a random value that a charge would cache as a key')
})

t.test('alarms on DLQ depth, recorded dead letters, stream iterator age and failed stream records, payments needing attention, unreadable secrets, function errors, throttles and p99 duration', async (t) => {
  const alarms = Object.values(resources('AWS::CloudWatch::Alarm')) as Array<{ Properties: { MetricName?: string, ExtendedStatistic?: string, Metrics?: Array<{ MetricStat?: { Metric: { Namespace: string, MetricName: string } } }> } }>
  const metrics = alarms.map((alarm) => alarm.Properties.MetricName).filter((name) => name !== undefined).sort()
  t.same(metrics, ['ApproximateNumberOfMessagesVisible', 'ApproximateNumberOfMessagesVisible', 'BatchItemFailures', 'Duration', 'Errors', 'IteratorAge', 'ProviderMisconfigured', 'Throttles', 'WebhooksGivenUp'])
  const deadLetterMetrics = alarms.flatMap((alarm) => alarm.Properties.Metrics ?? []).map((m) => m.MetricStat?.Metric).filter((m) => m?.MetricName === 'DeadLetters')
  t.match(deadLetterMetrics, [{ Namespace: 'paylith', MetricName: 'DeadLetters' }, { Namespace: 'paylith', MetricName: 'DeadLetters' }], 'the DeadLetters metric the DLQ worker emits is alarmed on, for both kinds')
  t.ok(alarms.some((alarm) => alarm.Properties.MetricName === 'Duration' && alarm.Properties.ExtendedStatistic === 'p99'))
})

t.test('the DeadLetters alarm fires on one dead letter in one minute: Sum over 60 s, >= 1, one period', async (t) => {
  const alarms = Object.values(resources('AWS::CloudWatch::Alarm')) as Array<{ Properties: Record<string, unknown> & { Metrics?: Array<{ Expression?: string, ReturnData?: boolean, MetricStat?: { Metric: { MetricName: string, Dimensions: unknown }, Stat: string, Period: number } }> } }>
  const alarm = alarms.find((a) => a.Properties.Metrics?.some((m) => m.MetricStat?.Metric.MetricName === 'DeadLetters'))
  if (alarm === undefined) throw new Error('no alarm on DeadLetters')
  t.match(alarm.Properties, { AlarmName: 'Test-DeadLettersRecorded', ComparisonOperator: 'GreaterThanOrEqualToThreshold', Threshold: 1, EvaluationPeriods: 1, DatapointsToAlarm: 1, TreatMissingData: 'notBreaching' })
  const metrics = alarm.Properties.Metrics ?? []
  const expression = metrics.find((m) => m.Expression !== undefined)
  t.match(expression, { Expression: 'FILL(messages, 0) + FILL(streamBatches, 0)', ReturnData: true }, 'the sum of both kinds: what the alarm compares')
  const stats = metrics.filter((m) => m.MetricStat !== undefined)
  t.same(stats.map((m) => [m.MetricStat?.Stat, m.MetricStat?.Period, m.MetricStat?.Metric.Dimensions, m.ReturnData]), [
    ['Sum', 60, [{ Name: 'kind', Value: 'message' }], false],
    ['Sum', 60, [{ Name: 'kind', Value: 'stream-batch' }], false]
  ], 'each kind summed over one minute, with the dimension the worker emits')
})

interface AlarmResource { Properties: Record<string, unknown> & { Metrics?: Array<{ Id: string, Expression?: string, ReturnData?: boolean, MetricStat?: { Metric: { Namespace: string, MetricName: string, Dimensions: unknown }, Stat: string, Period: number } }> } }
const alarmNamed = (name: string): AlarmResource['Properties'] => {
  const found = (Object.values(resources('AWS::CloudWatch::Alarm')) as AlarmResource[]).find((alarm) => alarm.Properties.AlarmName === `Test-${name}`)
  if (found === undefined) throw new Error(`no alarm Test-${name}`)
  return found.Properties
}

t.test('a stuck stream alarms: the function\'s IteratorAge (its only stream mapping) above a minute, three minutes running', async (t) => {
  const fnId = Object.keys(resources('AWS::Lambda::Function'))[0]
  t.match(alarmNamed('StreamIteratorAge'), {
    Namespace: 'AWS/Lambda',
    MetricName: 'IteratorAge',
    Dimensions: [{ Name: 'FunctionName', Value: { Ref: fnId } }],
    Statistic: 'Maximum',
    Period: 60,
    Threshold: 60_000,
    ComparisonOperator: 'GreaterThanThreshold',
    EvaluationPeriods: 3,
    DatapointsToAlarm: 3,
    TreatMissingData: 'notBreaching'
  })
})

t.test('failed stream records alarm: the BatchItemFailures the stream worker emits (source table-stream), three minutes running', async (t) => {
  t.match(alarmNamed('StreamBatchItemFailures'), {
    Namespace: 'paylith',
    MetricName: 'BatchItemFailures',
    Dimensions: [{ Name: 'source', Value: 'table-stream' }],
    Statistic: 'Sum',
    Period: 60,
    Threshold: 0,
    ComparisonOperator: 'GreaterThanThreshold',
    EvaluationPeriods: 3,
    DatapointsToAlarm: 3
  })
})

for (const [name, kind] of [['PaymentsNeedAttention', 'payment'], ['RefundsNeedAttention', 'pending refund']] as const) {
  t.test(`a ${kind} flagged as needing a person alarms: ${name} of every reason, summed per sweep interval, >= 1`, async (t) => {
    const alarm = alarmNamed(name)
    t.match(alarm, { Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', EvaluationPeriods: 1 })
    const stats = (alarm.Metrics ?? []).filter((m) => m.MetricStat !== undefined)
    t.same(stats.map((m) => [m.MetricStat?.Metric.Namespace, m.MetricStat?.Metric.MetricName, m.MetricStat?.Metric.Dimensions, m.MetricStat?.Stat, m.MetricStat?.Period]),
      Object.values(AttentionReason).map((reason) => ['paylith', name, [{ Name: 'reason', Value: reason }], 'Sum', 300]))
    const expression = (alarm.Metrics ?? []).find((m) => m.Expression !== undefined)
    t.equal(expression?.Expression, stats.map((m) => `FILL(${m.Id}, 0)`).join(' + '), 'the sum of every reason')
  })
}

t.test('a secret that cannot be read alarms: SecretUnavailable of every secret, with or without a cached value, summed over five minutes, >= 1', async (t) => {
  const alarm = alarmNamed('SecretsUnavailable')
  t.match(alarm, { Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', EvaluationPeriods: 1, TreatMissingData: 'notBreaching' })
  const stats = (alarm.Metrics ?? []).filter((m) => m.MetricStat !== undefined)
  t.same(stats.map((m) => [m.MetricStat?.Metric.Namespace, m.MetricStat?.Metric.MetricName, m.MetricStat?.Metric.Dimensions, m.MetricStat?.Stat, m.MetricStat?.Period]), [
    ['paylith', 'SecretUnavailable', [{ Name: 'fallback', Value: 'cached' }, { Name: 'secret', Value: 'api-keys' }], 'Sum', 300],
    ['paylith', 'SecretUnavailable', [{ Name: 'fallback', Value: 'none' }, { Name: 'secret', Value: 'api-keys' }], 'Sum', 300],
    ['paylith', 'SecretUnavailable', [{ Name: 'fallback', Value: 'cached' }, { Name: 'secret', Value: 'webhook-secrets' }], 'Sum', 300],
    ['paylith', 'SecretUnavailable', [{ Name: 'fallback', Value: 'none' }, { Name: 'secret', Value: 'webhook-secrets' }], 'Sum', 300]
  ], 'the dimensions the service emits (test/http/auth.test.ts and the webhook tests see them on real failed reads)')
  const expression = (alarm.Metrics ?? []).find((m) => m.Expression !== undefined)
  t.equal(expression?.Expression, stats.map((m) => `FILL(${m.Id}, 0)`).join(' + '), 'the sum of every pair')
})

t.test('a misconfigured provider and a webhook the safety net gave up on each alarm on the first one', async (t) => {
  const firstInFiveMinutes = { Statistic: 'Sum', Period: 300, Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching' }
  t.match(alarmNamed('ProviderMisconfigured'), { Namespace: 'paylith', MetricName: 'ProviderMisconfigured', Dimensions: [{ Name: 'provider', Value: 'stripe' }], ...firstInFiveMinutes })
  t.match(alarmNamed('WebhooksGivenUp'), { Namespace: 'paylith', MetricName: 'WebhooksGivenUp', ...firstInFiveMinutes })
})

t.test('every alarm notifies the alarm topic, on alarm and on return to OK', async (t) => {
  const topics = Object.keys(resources('AWS::SNS::Topic'))
  t.equal(topics.length, 1, 'one alarm topic')
  const topic = { Ref: topics[0] }
  const alarms = Object.entries(resources('AWS::CloudWatch::Alarm')) as Array<[string, { Properties: { AlarmActions?: unknown[], OKActions?: unknown[] } }]>
  t.equal(alarms.length, 14)
  for (const [id, alarm] of alarms) {
    t.same(alarm.Properties.AlarmActions, [topic], `${id} alarms the topic`)
    t.same(alarm.Properties.OKActions, [topic], `${id} tells the topic when it is OK again`)
  }
  t.match(template.toJSON().Outputs.AlarmTopicArn, { Value: topic }, 'its ARN is a stack output')
})

t.test('the alarm topic is encrypted with a rotating key that only this stack\'s alarms may use, and TLS only', async (t) => {
  const keyId = Object.keys(resources('AWS::KMS::Key'))[0]
  template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } })
  const key = only<{ Properties: { EnableKeyRotation: boolean, KeyPolicy: { Statement: Array<{ Sid?: string, Principal: unknown, Action: unknown, Condition?: unknown }> } } }>('AWS::KMS::Key')
  t.equal(key.Properties.EnableKeyRotation, true)
  const sourceArn = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudwatch:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':alarm:Test-*']] }
  const ownAlarms = { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } }, ArnLike: { 'aws:SourceArn': sourceArn } }
  const forCloudWatch = key.Properties.KeyPolicy.Statement.filter((s) => JSON.stringify(s.Principal).includes('cloudwatch.amazonaws.com'))
  t.same(forCloudWatch.map((s) => [s.Action, s.Condition]), [[['kms:Decrypt', 'kms:GenerateDataKey*'], ownAlarms]], 'CloudWatch may only encrypt for this stack\'s alarms')
  const policy = only<{ Properties: { PolicyDocument: { Statement: Array<{ Effect: string, Principal: unknown, Action: unknown, Condition?: unknown }> } } }>('AWS::SNS::TopicPolicy')
  const statements = policy.Properties.PolicyDocument.Statement
  t.ok(statements.some((s) => s.Effect === 'Allow' && JSON.stringify(s.Principal).includes('cloudwatch.amazonaws.com') && s.Action === 'sns:Publish' && JSON.stringify(s.Condition) === JSON.stringify(ownAlarms)), 'CloudWatch may publish, for this stack\'s alarms only')
  t.ok(statements.some((s) => s.Effect === 'Deny' && JSON.stringify(s.Condition).includes('aws:SecureTransport')), 'TLS only')
  t.equal(Object.keys(resources('AWS::SNS::Subscription')).length, 0, 'no subscription without alarmEmail')
})

t.test('with alarmEmail the address is subscribed to the alarm topic by email', async (t) => {
  const withEmail = Template.fromStack(new PaylithStack(new App({ outdir: tempDir('paylith-cdk-') }), 'Email', { codePath: code, alarmEmail: 'ops@example.com' }))
  const topicId = Object.keys(withEmail.findResources('AWS::SNS::Topic'))[0]
  const subscriptions = Object.values(withEmail.findResources('AWS::SNS::Subscription')) as Array<{ Properties: unknown }>
  t.same(subscriptions.map((s) => s.Properties), [{ Protocol: 'email', Endpoint: 'ops@example.com', TopicArn: { Ref: topicId } }])
})

interface PolicyStatement { Sid?: string, Action: string | string[], Resource: unknown }
const statements = (): PolicyStatement[] => only<{ Properties: { PolicyDocument: { Statement: PolicyStatement[] } } }>('AWS::IAM::Policy').Properties.PolicyDocument.Statement
const actionsOf = (statement: PolicyStatement): string[] => ([] as string[]).concat(statement.Action)
/** The logical ids an IAM resource (or list of them) refers to, with any `/index/...` suffix. */
const targets = (resource: unknown): string[] => ([] as unknown[]).concat(resource).map((r) => {
  const json = JSON.stringify(r)
  const id = /"Fn::GetAtt":\["([A-Za-z]+?)[0-9A-F]{8}","(Arn|StreamArn)"\]/.exec(json) ?? /"Ref":"([A-Za-z]+?)[0-9A-F]{8}"/.exec(json)
  return `${id?.[1] ?? json}${id?.[2] === 'StreamArn' ? '/stream' : ''}${/\/index\/(\w+)|\/(settlements|reports)\/\*/.exec(json)?.[0] ?? ''}`
})
/** Every (action, resource) pair the function's role is granted. */
const grants = (): string[] => statements().flatMap((s) => actionsOf(s).flatMap((action) => targets(s.Resource).map((target) => `${action} ${target}`))).sort()

/** What Lambda itself calls with the function's role for its event source mappings (not the code). */
const MAPPING_ACTIONS = [
  // SQS mappings (work queue, dead-letter queue): https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
  'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes',
  // the stream mapping: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/iam-policy-example-lamda-process-dynamodb-streams.html
  'dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams',
  // its on-failure destination: https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html
  'sqs:SendMessage'
]
const IAM_PREFIX: Record<string, string> = { 'client-sqs': 'sqs', 'client-dynamodb': 'dynamodb', 'client-dynamodb-streams': 'dynamodb', 'client-secrets-manager': 'secretsmanager', 'client-s3': 's3' }
/** Batch calls are authorised by their single action; a transaction by the actions of its items. */
const ACTION_OF: Record<string, string | undefined> = { SendMessageBatch: 'SendMessage', DeleteMessageBatch: 'DeleteMessage', ChangeMessageVisibilityBatch: 'ChangeMessageVisibility', TransactWriteItems: undefined, TransactGetItems: undefined }

/** The IAM actions of every AWS call in src/ outside src/local (the local runtime never runs in Lambda). */
function actionsTheCodeCalls (): string[] {
  const root = fileURLToPath(new URL('../../src/', import.meta.url))
  const files = (readdirSync(root, { recursive: true }) as string[]).filter((file) => file.endsWith('.ts') && !file.startsWith(`local${sep}`))
  const actions = new Set<string>()
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8')
    const clientOf = new Map<string, string>()
    // Static imports and lazy ones (`const { XCommand } = await import('@aws-sdk/client-x')`).
    for (const [, imported, loaded, pkg = ''] of text.matchAll(/(?:import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*|const\s*\{([^}]*)\}\s*=\s*await\s+import\()'@aws-sdk\/(client-[\w-]+)'/g)) {
      for (const name of (imported ?? loaded ?? '').split(',').map((n) => n.trim().replace(/^type\s+/, ''))) clientOf.set(name, pkg)
    }
    for (const [, operation = ''] of text.matchAll(/new (\w+)Command\(/g)) {
      const pkg = clientOf.get(`${operation}Command`)
      if (pkg === undefined || IAM_PREFIX[pkg] === undefined) throw new Error(`${file}: ${operation}Command comes from no AWS SDK client this test knows`)
      const action = operation in ACTION_OF ? ACTION_OF[operation] : operation
      if (action !== undefined) actions.add(`${IAM_PREFIX[pkg]}:${action}`)
    }
    // lib-storage's Upload sends PutObject, or CreateMultipartUpload, UploadPart and
    // CompleteMultipartUpload (all authorised by s3:PutObject), and AbortMultipartUpload on a failure.
    // https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html#mpuAndPermissions
    if (/const\s*\{\s*Upload\s*\}\s*=\s*await\s+import\('@aws-sdk\/lib-storage'\)/.test(text) && /new Upload\(/.test(text)) {
      actions.add('s3:PutObject')
      actions.add('s3:AbortMultipartUpload')
    }
    // Transaction items: Put and Update need PutItem and UpdateItem; these two need their own.
    if (/\bConditionCheck\s*:\s*\{/.test(text)) actions.add('dynamodb:ConditionCheckItem')
    if (/\bDelete\s*:\s*\{/.test(text)) actions.add('dynamodb:DeleteItem')
  }
  return [...actions].sort()
}

t.test('IAM grants exactly the actions the code calls (read from src/) plus what the event source mappings need', async (t) => {
  const code = actionsTheCodeCalls()
  t.ok(code.includes('sqs:ChangeMessageVisibility') && code.includes('sqs:SendMessage'), 'the work queue defers (FIFO) and sends in batches')
  t.notOk(code.includes('dynamodb:ConditionCheckItem'), 'no transaction has a ConditionCheck item')
  const granted = [...new Set(statements().flatMap(actionsOf))].sort()
  t.same(granted, [...new Set([...code, ...MAPPING_ACTIONS])].sort(), 'nothing missing, nothing unused')
})

t.test('IAM is least privilege: each action only on the resources that need it, nothing on *', async (t) => {
  t.same(grants(), [
    'dynamodb:BatchGetItem Table',
    'dynamodb:BatchWriteItem Table',
    'dynamodb:DescribeStream Table/stream',
    'dynamodb:DescribeTable Table',
    'dynamodb:GetItem Table',
    'dynamodb:GetRecords Table/stream',
    'dynamodb:GetShardIterator Table/stream',
    'dynamodb:ListStreams Table/stream',
    'dynamodb:PutItem Table',
    'dynamodb:Query Table',
    'dynamodb:Query Table/index/GSI1',
    'dynamodb:Query Table/index/GSI2',
    'dynamodb:Query Table/index/GSI3',
    'dynamodb:UpdateItem Table',
    's3:AbortMultipartUpload SettlementBucket/reports/*',
    's3:GetObject SettlementBucket/settlements/*',
    's3:PutObject SettlementBucket/reports/*',
    's3:PutObject SettlementBucket/settlements/*',
    'secretsmanager:GetSecretValue ApiKeysSecret',
    'secretsmanager:GetSecretValue StripeSecretKey',
    'secretsmanager:GetSecretValue WebhookSecrets',
    'sqs:ChangeMessageVisibility WorkQueue',
    'sqs:DeleteMessage DeadLetterQueue',
    'sqs:DeleteMessage SettlementQueue',
    'sqs:DeleteMessage WorkQueue',
    'sqs:GetQueueAttributes DeadLetterQueue',
    'sqs:GetQueueAttributes SettlementQueue',
    'sqs:GetQueueAttributes WorkQueue',
    'sqs:ReceiveMessage DeadLetterQueue',
    'sqs:ReceiveMessage SettlementQueue',
    'sqs:ReceiveMessage WorkQueue',
    'sqs:SendMessage DeadLetterQueue',
    'sqs:SendMessage SettlementQueue',
    'sqs:SendMessage WorkQueue'
  ], 'no DescribeTable on the indexes, no GetQueueUrl, ChangeMessageVisibility only where the code defers')
  for (const statement of statements()) {
    t.notMatch(JSON.stringify(statement.Resource), /"\*"/, `no wildcard resource for ${JSON.stringify(statement.Action)}`)
  }
})

t.test('the mappings keep their settings without the CDK event sources\' broader grants', async (t) => {
  const mappings = Object.values(resources('AWS::Lambda::EventSourceMapping')) as Array<{ Properties: Record<string, unknown> }>
  t.equal(mappings.length, 4)
  template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
    EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('DeadLetterQueue'), 'Arn'] },
    BatchSize: 10,
    MaximumBatchingWindowInSeconds: 5,
    ScalingConfig: { MaximumConcurrency: 2 },
    FunctionResponseTypes: ['ReportBatchItemFailures']
  })
})

t.test('with the sandbox provider the function gets no Stripe key and no access to it', async (t) => {
  const sandboxStack = new PaylithStack(new App({ outdir: tempDir('paylith-cdk-') }), 'Sandbox', { codePath: code, paymentProvider: 'sandbox' })
  const sandbox = Template.fromStack(sandboxStack)
  const fn = Object.values(sandbox.findResources('AWS::Lambda::Function'))[0] as { Properties: { Environment: { Variables: Record<string, unknown> } } }
  t.equal(fn.Properties.Environment.Variables.PAYMENT_PROVIDER, 'sandbox')
  t.equal(fn.Properties.Environment.Variables.STRIPE_SECRET_ARN, undefined)
  const secretStatement = JSON.stringify(sandbox.toJSON()).match(/"secretsmanager:GetSecretValue"[^\]]*\]/)
  t.notMatch(secretStatement?.[0] ?? '', /StripeSecretKey/)
  t.match(secretStatement?.[0] ?? '', /ApiKeysSecret/, 'the API keys are read all the same')
})

t.test('the function environment holds only variables paylith reads', async (t) => {
  const fn = only<{ Properties: { Environment: { Variables: Record<string, unknown> } } }>('AWS::Lambda::Function')
  const names = Object.keys(fn.Properties.Environment.Variables)
  t.same(names.filter((name) => !(name in EnvSchema.properties)), [], 'every name is in EnvSchema')
  t.notOk('NODE_OPTIONS' in fn.Properties.Environment.Variables, 'no Node flags: the asset has no source maps, so --enable-source-maps would only cost cold starts')
  t.notOk('TRACING' in fn.Properties.Environment.Variables, 'an unset variable is left out, not set to an empty value')
  // @ts-expect-error a name EnvSchema does not declare does not compile (tsc checks this line)
  t.same(paylithEnvironment({ TABLE_NAM: 'x', TABLE_NAME: undefined }), { TABLE_NAM: 'x' })
})

t.test('the settlement bucket: encrypted, private, TLS only, reports expire (and their unfinished uploads), objects under settlements/ notify the settlement queue', async (t) => {
  const bucket = only<{ Properties: Record<string, unknown>, DependsOn?: string[] }>('AWS::S3::Bucket')
  t.match(bucket.Properties, {
    BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
    PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
    LifecycleConfiguration: { Rules: [{ Prefix: 'reports/', ExpirationInDays: 90, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' }] },
    NotificationConfiguration: {
      QueueConfigurations: [{ Event: 's3:ObjectCreated:*', Filter: { S3Key: { Rules: [{ Name: 'prefix', Value: 'settlements/' }] } }, Queue: { 'Fn::GetAtt': [/^SettlementQueue/, 'Arn'] } }]
    }
  })
  t.ok(bucket.DependsOn?.some((id) => id.startsWith('SettlementQueuePolicy')), 'created after the queue lets it send (S3 checks, and sends a test event)')
  const bucketPolicy = JSON.stringify(only('AWS::S3::BucketPolicy'))
  t.match(bucketPolicy, /"aws:SecureTransport":"false"/, 'TLS only')
  const queuePolicies = JSON.stringify(Object.values(resources('AWS::SQS::QueuePolicy')))
  t.match(queuePolicies, /"Service":"s3.amazonaws.com"/, 'S3 may send to the settlement queue')
  t.match(queuePolicies, /aws:SourceArn/, 'only from the settlement bucket')
  template.hasResourceProperties('AWS::SQS::Queue', {
    RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('SettlementDeadLetterQueue'), 'Arn'] }, maxReceiveCount: 3 }
  })
  template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
    EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('SettlementQueue'), 'Arn'] },
    BatchSize: 1,
    FunctionResponseTypes: ['ReportBatchItemFailures']
  })
  const fn = only<{ Properties: { Environment: { Variables: Record<string, unknown> } } }>('AWS::Lambda::Function')
  t.ok(fn.Properties.Environment.Variables.SETTLEMENT_BUCKET_NAME !== undefined && fn.Properties.Environment.Variables.SETTLEMENT_QUEUE_NAME !== undefined, 'the function knows the bucket and its queue')
})

t.test('-c reportRetentionDays and -c settlementBucketName reach the bucket', async () => {
  const app = new App({ outdir: tempDir('paylith-cdk-'), context: { reportRetentionDays: '7', settlementBucketName: 'acme-settlements' } })
  const custom = Template.fromStack(new PaylithStack(app, 'Reports', { codePath: code, ...propsFromContext(app) }))
  custom.hasResourceProperties('AWS::S3::Bucket', { BucketName: 'acme-settlements', LifecycleConfiguration: { Rules: [{ Prefix: 'reports/', ExpirationInDays: 7 }] } })
})
