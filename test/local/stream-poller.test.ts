import { setTimeout as sleep } from 'node:timers/promises'
import { DeleteTableCommand, PutItemCommand } from '@aws-sdk/client-dynamodb'
import { DescribeStreamCommand, DynamoDBStreamsClient, GetShardIteratorCommand, ResourceNotFoundException } from '@aws-sdk/client-dynamodb-streams'
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs'
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda'
import t from 'tap'
import { bootstrapLocal } from '../../src/local/bootstrap.js'
import { clientOptions } from '../../src/aws/clients.js'
import { startStreamPoller, streamPollerCheck, streamPollerOptions, streamPollerStaleAfterMs, type StreamPollerOptions } from '../../src/local/stream-poller.js'
import { createLocalContext } from '../../src/local/lambda-context.js'
import { createLogger } from '../../src/observability/logger.js'
import { createTableStreamWorker } from '../../src/workers/table-stream.js'
import { build, closedEndpoint, testConfig, type Teardownable } from '../helpers/build.js'
import { waitFor } from '../helpers/wait.js'

/**
 * Starts a table and a poller that invokes a stand-in function: it handles records in order,
 * `behave` decides per item whether one fails, and it reports its first failure (in order, the
 * lowest, as the table-stream worker reports). The poller is under test here, not the workers.
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
  const start = (overrides: Partial<StreamPollerOptions> = {}) => {
    const poller = startStreamPoller({ ...streamPollerOptions(bootstrapped, { invocationTimeoutMs: 5_000, dispatch, logger }), pollIntervalMs: 50, ...overrides })
    t.teardown(() => poller.stop())
    return poller
  }
  return { bootstrapped, config, clients, resources, attempts, seen, put, start }
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

t.test('with the concurrent table-stream worker, the poller redelivers from the lowest failure, records of other items that succeeded included', async (t) => {
  const handled = new Map<string, number>()
  const worker = createTableStreamWorker({ logger: createLogger({ logLevel: 'silent' }) }, {
    ITEM: async (record) => {
      const pk = record.dynamodb?.Keys?.pk?.S ?? ''
      const attempt = (handled.get(pk) ?? 0) + 1
      handled.set(pk, attempt)
      // The other items finish first: they succeed before this failure is known.
      if (pk === 'ITEM#2' && attempt === 1) await sleep(20).then(() => { throw new Error('transient') })
    }
  }, { concurrency: 10 })
  const { put, start } = await streamHarness(t, { STREAM_MAX_RETRIES: '5' }, () => {})
  for (const pk of ['ITEM#1', 'ITEM#2', 'ITEM#3', 'ITEM#4']) await put(pk)
  const poller = start({ dispatch: async (event) => worker(event as DynamoDBStreamEvent, createLocalContext('paylith-test', 5_000)) })

  await waitFor('the failed record handled again', () => handled.get('ITEM#2') === 2 && handled.get('ITEM#4') === 2)
  await poller.stop()
  t.same(Object.fromEntries(handled), { 'ITEM#1': 1, 'ITEM#2': 2, 'ITEM#3': 2, 'ITEM#4': 2 }, 'one shard\'s batch, checkpointed before its lowest failure, as Lambda does')
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

t.test('when the table is recreated the stream poller follows its new stream', async (t) => {
  const { config, clients, resources, attempts, put, start } = await streamHarness(t, {}, () => {})
  await put('ITEM#before')
  const poller = start()
  await waitFor('the record of the first table', () => attempts.get('ITEM#before') === 1)

  await clients.dynamodb.send(new DeleteTableCommand({ TableName: config.tableName }))
  const recreated = await bootstrapLocal(config, clients)
  await put('ITEM#after')

  await waitFor('the record of the recreated table', () => attempts.get('ITEM#after') === 1, { timeoutMs: 20_000 })
  t.not(recreated.resources.streamArn, resources.streamArn, 'a new stream')
  t.equal(poller.health().streamArn, recreated.resources.streamArn, 'the poller reads the new stream')
  t.ok(streamPollerCheck(poller, streamPollerStaleAfterMs(50)).ok, 'and is ready')
  await poller.stop()
  t.same(Object.fromEntries(attempts), { 'ITEM#before': 1, 'ITEM#after': 1 })
})

/** A streams client that answers ResourceNotFound where `gone` says so, and passes everything else to `real`. */
function vanishing (real: DynamoDBStreamsClient, gone: (command: unknown) => boolean): DynamoDBStreamsClient {
  return {
    send: async (command: unknown) => {
      if (gone(command)) throw new ResourceNotFoundException({ message: 'Requested resource not found', $metadata: {} })
      return real.send(command as DescribeStreamCommand)
    }
  } as unknown as DynamoDBStreamsClient
}

t.test('a stream that is gone is followed to the table\'s current stream', async (t) => {
  const { bootstrapped, config, clients, resources, attempts, put, start } = await streamHarness(t, {}, () => {})
  await clients.dynamodb.send(new DeleteTableCommand({ TableName: config.tableName }))
  const recreated = await bootstrapLocal(config, clients)
  const real = streamPollerOptions(bootstrapped, { invocationTimeoutMs: 5_000, dispatch: async () => ({}), logger: createLogger({ logLevel: 'silent' }) }).streams
  t.teardown(() => real.destroy())
  const streams = vanishing(real, (command) => command instanceof DescribeStreamCommand && command.input.StreamArn === resources.streamArn)
  await put('ITEM#new')

  const poller = start({ streams })
  await waitFor('the record of the current stream', () => attempts.get('ITEM#new') === 1)
  t.equal(poller.health().streamArn, recreated.resources.streamArn)
})

t.test('a shard that vanished is dropped and the poller stays ready', async (t) => {
  const { bootstrapped, attempts, put, start } = await streamHarness(t, {}, () => {})
  const real = streamPollerOptions(bootstrapped, { invocationTimeoutMs: 5_000, dispatch: async () => ({}), logger: createLogger({ logLevel: 'silent' }) }).streams
  t.teardown(() => real.destroy())
  await put('ITEM#lost')
  const poller = start({ streams: vanishing(real, (command) => command instanceof GetShardIteratorCommand) })
  const startedAt = poller.health().lastSuccessAt

  await waitFor('a cycle after the shard is dropped', () => poller.health().lastSuccessAt > startedAt)
  t.equal(attempts.size, 0, 'nothing could be read from the vanished shard')
  t.ok(streamPollerCheck(poller, 1_000).ok)
})

t.test('a stream poller that keeps failing turns /ready to 503', async (t) => {
  const { bootstrapped, start } = await streamHarness(t, {}, () => {})
  const down = { ...bootstrapped.config, aws: { ...bootstrapped.config.aws, endpoint: await closedEndpoint(), dynamodbEndpoint: undefined } }
  const streams = new DynamoDBStreamsClient({ ...clientOptions(down, 'dynamodb'), maxAttempts: 1 })
  t.teardown(() => streams.destroy())
  const healthy = start()
  const stuck = start({ streams })
  const staleAfterMs = 500

  await waitFor('the working poller to finish a cycle', () => streamPollerCheck(healthy, staleAfterMs).detail.includes(' ms ago'))
  await waitFor('the failing poller to go stale', () => !streamPollerCheck(stuck, staleAfterMs).ok, { timeoutMs: 5_000 })
  t.ok(streamPollerCheck(healthy, staleAfterMs).ok, 'a poller that reads stays ready')
  t.match(streamPollerCheck(stuck, staleAfterMs), { name: 'streamPoller', ok: false, detail: /has not read arn:.+ for \d+ ms \(bound 500 ms\)/ })

  const { app } = await build(t, { deps: { readiness: () => [streamPollerCheck(stuck, staleAfterMs)] } })
  const response = await app.inject({ method: 'GET', url: '/ready' })
  t.equal(response.statusCode, 503)
  t.match(response.json(), { code: 'PAYLITH_DEPENDENCY_UNAVAILABLE', status: 503, detail: /the stream poller has not read/ })

  const { app: readyApp } = await build(t, { deps: { readiness: () => [streamPollerCheck(healthy, 60_000)] } })
  const ready = await readyApp.inject({ method: 'GET', url: '/ready' })
  t.equal(ready.statusCode, 200)
  t.same(ready.json(), { status: 'ready', checks: { streamPoller: 'ok', dynamodb: 'ok' } })
})

t.test('the stale bound is at least 30 s and otherwise ten poll intervals', async (t) => {
  t.equal(streamPollerStaleAfterMs(500), 30_000)
  t.equal(streamPollerStaleAfterMs(10_000), 100_000)
})
