import { CreateTableCommand, DescribeTableCommand, DescribeTimeToLiveCommand, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb'
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs'
import t from 'tap'
import { ensureResources } from '../../src/local/bootstrap.js'
import { startDynamoDbLocal } from '../../src/local/emulator.js'
import { createAwsClients } from '../../src/local/clients.js'
import { TABLE, indexDefinition, keyAttributeDefinitions, tableDefinition } from '../../src/aws/resources.js'
import { createPaymentStore, newPayment } from '../../src/store/payments.js'
import { Keys, toItem, unsettledPartition, unsettledShard } from '../../src/store/table.js'
import { testConfig } from '../helpers/build.js'

t.test('the bootstrap creates the table, stream, TTL, GSI and queues from the shared definitions', async (t) => {
  const config = await testConfig(t.name, { MAX_RECEIVE_COUNT: '4', VISIBILITY_TIMEOUT_SECONDS: '45' })
  const clients = createAwsClients(config)
  const resources = await ensureResources(clients, config)

  const { Table } = await clients.dynamodb.send(new DescribeTableCommand({ TableName: config.tableName }))
  t.same(Table?.KeySchema, [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }])
  t.equal(Table?.StreamSpecification?.StreamViewType, 'NEW_AND_OLD_IMAGES')
  t.same(Table?.GlobalSecondaryIndexes?.map((index) => index.IndexName).sort(), [TABLE.gsi1.name, TABLE.gsi2.name, TABLE.gsi3.name])
  t.same(Table?.GlobalSecondaryIndexes?.find((index) => index.IndexName === TABLE.gsi3.name)?.Projection, { ProjectionType: 'INCLUDE', NonKeyAttributes: ['id', 'createdAt', 'version', 'attention', 'resends'] })
  t.equal(resources.streamArn, Table?.LatestStreamArn)
  const { TimeToLiveDescription } = await clients.dynamodb.send(new DescribeTimeToLiveCommand({ TableName: config.tableName }))
  t.same(TimeToLiveDescription, { TimeToLiveStatus: 'ENABLED', AttributeName: TABLE.ttlAttribute })

  const { Attributes } = await clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: resources.queues.work.url, AttributeNames: ['All'] }))
  t.equal(Attributes?.VisibilityTimeout, '45')
  t.same(JSON.parse(Attributes?.RedrivePolicy ?? '{}'), { deadLetterTargetArn: resources.queues.deadLetter.arn, maxReceiveCount: 4 })
})

t.test('running the bootstrap again changes nothing and brings changed settings in line', async (t) => {
  const config = await testConfig(t.name)
  const clients = createAwsClients(config)
  const first = await ensureResources(clients, config)
  const second = await ensureResources(clients, config)
  t.same(second, first, 'same resources, no error')

  const changed = await ensureResources(clients, { ...config, maxReceiveCount: 9 })
  const { Attributes } = await clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: changed.queues.work.url, AttributeNames: ['RedrivePolicy'] }))
  t.equal(JSON.parse(Attributes?.RedrivePolicy ?? '{}').maxReceiveCount, 9)
})

t.test('a table kept from before the sharded index gets GSI3 at the next start, and its unsettled payments are still found', async (t) => {
  // Its own DynamoDB Local, as `npm start` starts one for a kept data folder: in the instance the
  // other test files share, DynamoDB Local sometimes leaves an added index CREATING for good
  // (seen after test/http/auth.test.ts, whatever the wait), which no real start would meet.
  const dynamodb = await startDynamoDbLocal()
  t.teardown(() => dynamodb.stop())
  const shared = await testConfig(t.name)
  const config = { ...shared, aws: { ...shared.aws, dynamodbEndpoint: dynamodb.endpoint } }
  const clients = createAwsClients(config)
  t.teardown(() => { clients.dynamodb.destroy(); clients.sqs.destroy() })
  const before = [TABLE.gsi1, TABLE.gsi2]
  await clients.dynamodb.send(new CreateTableCommand({ ...tableDefinition(config.tableName), AttributeDefinitions: keyAttributeDefinitions(before), GlobalSecondaryIndexes: before.map(indexDefinition) }))
  // A pending payment as the version before wrote it: in GSI2's one partition of its day.
  const now = new Date('2026-11-27T12:00:00.000Z')
  const payment = newPayment('pay_01JDQ3M4ZK8Y6W2V7N5R9T0XBC', { amount: 100, currency: 'EUR', customerId: 'cus_before' }, new Date('2026-11-27T10:00:00.000Z'))
  await clients.dynamodb.send(new PutItemCommand({
    TableName: config.tableName,
    Item: toItem({ ...Keys.payment(payment.id), ...Keys.paymentByCustomer(payment.customerId, payment.createdAt, payment.id), gsi2pk: 'UNSETTLED#2026-11-27', gsi2sk: `${payment.createdAt}#${payment.id}` }, payment)
  }))

  await ensureResources(clients, config)
  const { Table } = await clients.dynamodb.send(new DescribeTableCommand({ TableName: config.tableName }))
  t.same(Table?.GlobalSecondaryIndexes?.map((index) => [index.IndexName, index.IndexStatus]).sort(), [['GSI1', 'ACTIVE'], ['GSI2', 'ACTIVE'], ['GSI3', 'ACTIVE']], 'the missing index was added')
  t.same(Table?.GlobalSecondaryIndexes?.find((index) => index.IndexName === TABLE.gsi3.name)?.Projection, indexDefinition(TABLE.gsi3).Projection)

  const store = createPaymentStore({ dynamodb: clients.dynamodb, tableName: config.tableName, clock: () => now })
  const listed = async () => store.listUnsettled('2026-11-27', { from: '0', to: now.toISOString() }, 10)
  t.match(await listed(), [{ id: payment.id, version: 1, resends: 0 }], 'the payment of before is found in GSI2')
  await store.transition(payment, 'processing')
  t.match(await listed(), [{ id: payment.id, version: 2 }], 'once it moves, it is found in its GSI3 shard')
  const count = async (index: string, partitionKey: string, partition: string) => (await clients.dynamodb.send(new QueryCommand({
    TableName: config.tableName, IndexName: index, KeyConditionExpression: '#pk = :p', ExpressionAttributeNames: { '#pk': partitionKey }, ExpressionAttributeValues: { ':p': { S: partition } }, Select: 'COUNT'
  }))).Count
  t.equal(await count(TABLE.gsi2.name, TABLE.gsi2.partitionKey, 'UNSETTLED#2026-11-27'), 0, 'it left GSI2')
  t.equal(await count(TABLE.gsi3.name, TABLE.gsi3.partitionKey, unsettledPartition('2026-11-27', unsettledShard(payment.id))), 1)
  t.same(await ensureResources(clients, config), await ensureResources(clients, config), 'and a start after that changes nothing')
})
