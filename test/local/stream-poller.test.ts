import { PutItemCommand } from '@aws-sdk/client-dynamodb'
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs'
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda'
import t from 'tap'
import { bootstrapLocal } from '../../src/local/bootstrap.js'
import { lowestSequenceNumber, startStreamPoller, streamPollerOptions } from '../../src/local/stream-poller.js'
import { createLogger } from '../../src/observability/logger.js'
import { testConfig, type Teardownable } from '../helpers/build.js'
import { waitFor } from '../helpers/wait.js'

t.test('sequence numbers are compared as integers, not strings', async (t) => {
  t.equal(lowestSequenceNumber(['20', '100', '9']), '9')
  t.equal(lowestSequenceNumber(['1100000000017454423009', '999999999999999999999']), '999999999999999999999')
  t.equal(lowestSequenceNumber(['1100000000017454423010', '1100000000017454423009']), '1100000000017454423009', 'beyond double precision')
  t.equal(lowestSequenceNumber(['000000000000000000012', '000000000000000000003']), '000000000000000000003', 'zero-padded (DynamoDB Local) comes back as given')
  t.equal(lowestSequenceNumber([]), undefined)
})

/**
 * Starts a table and a poller that invokes a stand-in function: it handles records in order,
 * `behave` decides per item whether one fails, and it reports the first failure as the
 * table-stream worker does. The poller is under test here, not the workers.
 */
async function streamHarness (t: Teardownable, env: Record<string, string>, behave: (pk: string, attempt: number) => void) {
  const bootstrapped = await bootstrapLocal(await testConfig(t.name, env))
  const { config, clients, resources } = bootstrapped
  const logger = createLogger({ logLevel: 'silent' })
  const attempts = new Map<string, number>()
  const seen: DynamoDBRecord[] = []
  const dispatch = async (event: unknown): Promise<DynamoDBBatchResponse> => {
    for (const record of (event as DynamoDBStreamEvent).Records) {
      seen.push(record)
      const pk = record.dynamodb?.Keys?.pk?.S ?? ''
      const attempt = (attempts.get(pk) ?? 0) + 1
      attempts.set(pk, attempt)
      try {
        behave(pk, attempt)
      } catch {
        return { batchItemFailures: [{ itemIdentifier: record.dynamodb?.SequenceNumber ?? '' }] }
      }
    }
    return { batchItemFailures: [] }
  }
  const put = (pk: string, extra: Record<string, { N: string }> = {}) =>
    clients.dynamodb.send(new PutItemCommand({ TableName: config.tableName, Item: { pk: { S: pk }, sk: { S: 'ITEM' }, ...extra } }))
  const start = () => {
    const poller = startStreamPoller({ ...streamPollerOptions(bootstrapped, { invocationTimeoutMs: 5_000, dispatch, logger }), pollIntervalMs: 50 })
    t.teardown(() => poller.stop())
    return poller
  }
  return { config, clients, resources, attempts, seen, put, start }
}

t.test('after a failure the stream poller resumes from the failed record, not from the batch start', async (t) => {
  const { attempts, put, start } = await streamHarness(t, { STREAM_MAX_RETRIES: '5' }, (pk, attempt) => {
    if (pk === 'ITEM#2' && attempt <= 2) throw new Error('transient')
  })
  for (const pk of ['ITEM#1', 'ITEM#2', 'ITEM#3']) await put(pk)
  const poller = start()

  await waitFor('every item handled', () => attempts.get('ITEM#3') === 1 && attempts.get('ITEM#2') === 3)
  await poller.stop()
  t.same(Object.fromEntries(attempts), { 'ITEM#1': 1, 'ITEM#2': 3, 'ITEM#3': 1 }, 'records before the failure are not redelivered')
})

t.test('a record that exhausts its retries goes to the on-failure queue and the shard moves on', async (t) => {
  const { clients, resources, attempts, put, start } = await streamHarness(t, { STREAM_MAX_RETRIES: '2' }, (pk) => {
    if (pk === 'ITEM#poison') throw new Error('never works')
  })
  for (const pk of ['ITEM#a', 'ITEM#poison', 'ITEM#c']) await put(pk)
  const poller = start()

  await waitFor('the record after the poison one', () => attempts.get('ITEM#c') === 1)
  await put('ITEM#d')
  await waitFor('a record written later', () => attempts.get('ITEM#d') === 1)
  await poller.stop()

  t.same(Object.fromEntries(attempts), { 'ITEM#a': 1, 'ITEM#poison': 3, 'ITEM#c': 1, 'ITEM#d': 1 }, 'one try plus maxRetries retries, then skipped')
  const { Messages = [] } = await clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: resources.queues.deadLetter.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }))
  t.equal(Messages.length, 1)
  const failure = JSON.parse(Messages[0]?.Body ?? '{}')
  t.match(failure, {
    requestContext: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: 3 },
    version: '1.0',
    DDBStreamBatchInfo: { shardId: /.+/, startSequenceNumber: /^\d+$/, batchSize: 1, streamArn: resources.streamArn }
  })
  t.equal(failure.DDBStreamBatchInfo.startSequenceNumber, failure.DDBStreamBatchInfo.endSequenceNumber)
})

t.test('stream records have the fields Lambda delivers', async (t) => {
  const { config, resources, seen, put, start } = await streamHarness(t, {}, () => {})
  const poller = start()
  await put('ITEM#1', { n: { N: '1' } })
  await put('ITEM#1', { n: { N: '2' } })
  await waitFor('two records', () => seen.length >= 2)
  await poller.stop()

  t.match(seen[0], {
    eventID: /.+/,
    eventName: 'INSERT',
    eventSource: 'aws:dynamodb',
    eventSourceARN: resources.streamArn,
    awsRegion: config.aws.region,
    dynamodb: {
      Keys: { pk: { S: 'ITEM#1' }, sk: { S: 'ITEM' } },
      NewImage: { n: { N: '1' } },
      SequenceNumber: /^\d+$/,
      SizeBytes: Number,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
      ApproximateCreationDateTime: Number
    }
  })
  t.match(seen[1], { eventName: 'MODIFY', dynamodb: { OldImage: { n: { N: '1' } }, NewImage: { n: { N: '2' } } } })
  t.ok(BigInt(seen[1]?.dynamodb?.SequenceNumber ?? 0) > BigInt(seen[0]?.dynamodb?.SequenceNumber ?? 0), 'in order')
})
