import { setTimeout as sleep } from 'node:timers/promises'
import { PutItemCommand } from '@aws-sdk/client-dynamodb'
import { ReceiveMessageCommand, type SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs'
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda'
import t from 'tap'
import { bootstrapLocal } from '../../src/local/bootstrap.js'
import { startStreamPoller, streamPollerOptions, type StreamPollerOptions } from '../../src/local/stream-poller.js'
import { createLogger } from '../../src/observability/logger.js'
import { testConfig, type Teardownable } from '../helpers/build.js'
import { waitFor } from '../helpers/wait.js'

const pkOf = (record: DynamoDBRecord): string => record.dynamodb?.Keys?.pk?.S ?? ''

/**
 * A table whose poller invokes a stand-in function that handles a batch's records in order and
 * fails the whole invocation (it throws, or it hangs past the time limit) on a poison record,
 * as a function without a partial batch response does. The poller is under test, not the workers.
 */
async function bisectHarness (t: Teardownable, env: Record<string, string>, poison: Record<string, 'throw' | 'hang'>) {
  const bootstrapped = await bootstrapLocal(await testConfig(t.name, env))
  const { config, clients, resources } = bootstrapped
  const invocations: string[][] = []
  const handled = new Set<string>()
  const sequenceNumbers = new Map<string, string>()
  const saved: string[] = []
  const dispatch = async (event: unknown): Promise<DynamoDBBatchResponse> => {
    const { Records } = event as DynamoDBStreamEvent
    invocations.push(Records.map(pkOf))
    for (const record of Records) {
      sequenceNumbers.set(pkOf(record), record.dynamodb?.SequenceNumber ?? '')
      const fault = poison[pkOf(record)]
      if (fault === 'hang') await sleep(1_000)
      if (fault !== undefined) throw new Error(`poison ${pkOf(record)}`)
    }
    for (const record of Records) handled.add(pkOf(record))
    return { batchItemFailures: [] }
  }
  const put = async (pks: string[]): Promise<void> => {
    for (const pk of pks) await clients.dynamodb.send(new PutItemCommand({ TableName: config.tableName, Item: { pk: { S: pk }, sk: { S: 'ITEM' } } }))
  }
  const start = (overrides: Partial<StreamPollerOptions> = {}) => {
    const poller = startStreamPoller({
      ...streamPollerOptions(bootstrapped, { invocationTimeoutMs: 5_000, dispatch, logger: createLogger({ logLevel: 'silent' }) }),
      pollIntervalMs: 50,
      position: { load: () => ({}), save: (_shardId, sequenceNumber) => { saved.push(sequenceNumber) } },
      ...overrides
    })
    t.teardown(() => poller.stop())
    return poller
  }
  /** The on-failure messages, once `count` have arrived. */
  const onFailure = async (count: number): Promise<Array<{ requestContext: { approximateInvokeCount: number }, DDBStreamBatchInfo: Record<string, unknown> }>> => {
    const bodies: string[] = []
    await waitFor(`${count} on-failure messages`, async () => {
      const { Messages = [] } = await clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: resources.queues.deadLetter.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }))
      bodies.push(...Messages.map((message) => message.Body ?? '{}'))
      return bodies.length >= count
    })
    return bodies.map((body) => JSON.parse(body))
  }
  const items = (count: number): string[] => Array.from({ length: count }, (_, index) => `ITEM#${index + 1}`)
  return { bootstrapped, resources, invocations, handled, sequenceNumbers, saved, put, start, onFailure, items }
}

t.test('an invocation that throws on one record: the batch is split in halves down to that record, and only it is skipped and reported', async (t) => {
  const { resources, invocations, handled, sequenceNumbers, saved, put, start, onFailure, items } = await bisectHarness(t, { STREAM_MAX_RETRIES: '2' }, { 'ITEM#5': 'throw' })
  await put(items(8))
  const poller = start()

  await waitFor('every healthy record handled', () => handled.size === 7 && handled.has('ITEM#8'))
  const [failure, ...more] = await onFailure(1)
  await poller.stop()

  t.same([...handled].sort(), items(8).filter((pk) => pk !== 'ITEM#5'), 'every healthy record handled, none skipped')
  t.same(invocations.map((batch) => batch.length), [8, 4, 4, 2, 1, 1, 1, 1, 2], 'halves of halves; the record alone tried once and retried twice; then the rest')
  t.same(more, [], 'one report')
  t.match(failure, {
    requestContext: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: 3 },
    DDBStreamBatchInfo: { startSequenceNumber: sequenceNumbers.get('ITEM#5'), endSequenceNumber: sequenceNumbers.get('ITEM#5'), batchSize: 1, streamArn: resources.streamArn }
  })
  t.same(saved, ['ITEM#4', 'ITEM#5', 'ITEM#6', 'ITEM#8'].map((pk) => sequenceNumbers.get(pk)), 'a half that succeeds is checkpointed; the poison record once reported')
})

t.test('splitting a batch spends no retries: with no retries at all only the failing record is skipped', async (t) => {
  const { invocations, handled, sequenceNumbers, put, start, onFailure, items } = await bisectHarness(t, { STREAM_MAX_RETRIES: '0' }, { 'ITEM#3': 'throw' })
  await put(items(8))
  const poller = start()

  const [failure] = await onFailure(1)
  await waitFor('every healthy record handled', () => handled.size === 7)
  await poller.stop()

  t.same(invocations.map((batch) => batch.length), [8, 4, 2, 2, 1, 1, 4])
  t.match(failure, { requestContext: { approximateInvokeCount: 1 }, DDBStreamBatchInfo: { startSequenceNumber: sequenceNumbers.get('ITEM#3'), batchSize: 1 } })
  t.notOk(handled.has('ITEM#3'))
})

t.test('an invocation that times out is split like one that throws', async (t) => {
  const { handled, sequenceNumbers, put, start, onFailure, items } = await bisectHarness(t, { STREAM_MAX_RETRIES: '1' }, { 'ITEM#3': 'hang' })
  await put(items(4))
  const poller = start({ invocationTimeoutMs: 250 })

  await waitFor('every healthy record handled', () => handled.size === 3 && handled.has('ITEM#4'))
  const [failure, ...more] = await onFailure(1)
  await poller.stop()

  t.same([...handled].sort(), ['ITEM#1', 'ITEM#2', 'ITEM#4'])
  t.same(more, [])
  t.match(failure, { requestContext: { approximateInvokeCount: 2 }, DDBStreamBatchInfo: { startSequenceNumber: sequenceNumbers.get('ITEM#3'), endSequenceNumber: sequenceNumbers.get('ITEM#3'), batchSize: 1 } })
})

t.test('adjacent records skipped in a row are reported as one range; a record skipped apart, on its own', async (t) => {
  const { handled, sequenceNumbers, saved, put, start, onFailure, items } = await bisectHarness(t, { STREAM_MAX_RETRIES: '1' }, { 'ITEM#4': 'throw', 'ITEM#5': 'throw', 'ITEM#7': 'throw' })
  await put(items(8))
  const poller = start()

  const failures = await onFailure(2)
  await waitFor('every healthy record handled', () => handled.size === 5)
  await poller.stop()

  t.same([...handled].sort(), ['ITEM#1', 'ITEM#2', 'ITEM#3', 'ITEM#6', 'ITEM#8'])
  const ranges = failures.map(({ DDBStreamBatchInfo: { startSequenceNumber, endSequenceNumber, batchSize } }) => ({ startSequenceNumber, endSequenceNumber, batchSize }))
  t.same(ranges, [
    { startSequenceNumber: sequenceNumbers.get('ITEM#4'), endSequenceNumber: sequenceNumbers.get('ITEM#5'), batchSize: 2 },
    { startSequenceNumber: sequenceNumbers.get('ITEM#7'), endSequenceNumber: sequenceNumbers.get('ITEM#7'), batchSize: 1 }
  ])
  t.equal(saved.at(-1), sequenceNumbers.get('ITEM#8'))
  t.ok(saved.includes(sequenceNumbers.get('ITEM#5') ?? ''), 'checkpointed past the range once reported')
  t.notOk(saved.includes(sequenceNumbers.get('ITEM#4') ?? ''), 'never inside it')
})

t.test('while the report cannot be sent, nothing past the skipped record is checkpointed, and it is sent later', async (t) => {
  const { bootstrapped, invocations, handled, sequenceNumbers, saved, put, start, onFailure, items } = await bisectHarness(t, { STREAM_MAX_RETRIES: '0' }, { 'ITEM#2': 'throw' })
  let outages = 1
  const real = bootstrapped.clients.sqs
  const sqs = {
    send: async (command: SendMessageCommand) => {
      if (outages-- > 0) throw new Error('the on-failure queue is down')
      return real.send(command)
    }
  } as unknown as SQSClient
  await put(items(3))
  const poller = start({ sqs })

  const [failure] = await onFailure(1)
  await waitFor('the record after it checkpointed', () => saved.length === 3)
  await poller.stop()

  t.match(failure, { DDBStreamBatchInfo: { startSequenceNumber: sequenceNumbers.get('ITEM#2'), batchSize: 1 } })
  t.same(saved, items(3).map((pk) => sequenceNumbers.get(pk)), 'in order, the skipped record once reported')
  t.equal(invocations.filter((batch) => batch.length === 1 && batch[0] === 'ITEM#3').length, 2, 'the record after it is delivered again, not lost')
  t.ok(handled.has('ITEM#3'))
})
