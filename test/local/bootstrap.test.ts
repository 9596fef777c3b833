import { DescribeTableCommand, DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb'
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs'
import t from 'tap'
import { ensureResources } from '../../src/local/bootstrap.js'
import { createAwsClients } from '../../src/aws/clients.js'
import { TABLE } from '../../src/aws/resources.js'
import { testConfig } from '../helpers/build.js'

t.test('the bootstrap creates the table, stream, TTL, GSI and queues from the shared definitions', async (t) => {
  const config = await testConfig(t.name, { MAX_RECEIVE_COUNT: '4', VISIBILITY_TIMEOUT_SECONDS: '45' })
  const clients = createAwsClients(config)
  const resources = await ensureResources(clients, config)

  const { Table } = await clients.dynamodb.send(new DescribeTableCommand({ TableName: config.tableName }))
  t.same(Table?.KeySchema, [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }])
  t.equal(Table?.StreamSpecification?.StreamViewType, 'NEW_AND_OLD_IMAGES')
  t.same(Table?.GlobalSecondaryIndexes?.map((index) => index.IndexName).sort(), [TABLE.gsi1.name, TABLE.gsi2.name])
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
