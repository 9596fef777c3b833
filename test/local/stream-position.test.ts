import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PutItemCommand } from '@aws-sdk/client-dynamodb'
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda'
import t from 'tap'
import { bootstrapLocal } from '../../src/local/bootstrap.js'
import { startStreamPoller, streamPollerOptions } from '../../src/local/stream-poller.js'
import { fileStreamPosition } from '../../src/local/stream-position.js'
import { createLogger } from '../../src/observability/logger.js'
import { testConfig, type Teardownable } from '../helpers/build.js'
import { waitFor } from '../helpers/wait.js'

async function tempFile (t: Teardownable): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'paylith-position-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return join(dir, 'nested', 'stream-position.json')
}

t.test('a saved stream position is read back for the same stream only', async (t) => {
  const path = await tempFile(t)
  t.same(fileStreamPosition(path, 'arn:stream/1').load(), {}, 'nothing saved yet')

  const position = fileStreamPosition(path, 'arn:stream/1')
  position.save('shard-1', '100')
  position.save('shard-2', '7')
  position.save('shard-1', '200')

  t.same(fileStreamPosition(path, 'arn:stream/1').load(), { 'shard-1': '200', 'shard-2': '7' })
  t.same(fileStreamPosition(path, 'arn:stream/2').load(), {}, 'another stream (a recreated table) starts from its beginning')
  t.same(JSON.parse(await readFile(path, 'utf8')), { streamArn: 'arn:stream/1', shards: { 'shard-1': '200', 'shard-2': '7' } })
})

t.test('an unreadable position file counts as no position', async (t) => {
  const path = await tempFile(t)
  fileStreamPosition(path, 'arn:stream/1').save('shard-1', '1')
  await writeFile(path, '{ not json')
  t.same(fileStreamPosition(path, 'arn:stream/1').load(), {})
  await writeFile(path, JSON.stringify({ streamArn: 'arn:stream/1', shards: null }))
  t.same(fileStreamPosition(path, 'arn:stream/1').load(), {})
})

t.test('a stream poller with a saved position resumes after it instead of replaying the stream', async (t) => {
  const bootstrapped = await bootstrapLocal(await testConfig(t.name))
  const { config, clients, resources } = bootstrapped
  const path = await tempFile(t)
  const seen: string[] = []
  const dispatch = async (event: unknown): Promise<DynamoDBBatchResponse> => {
    for (const record of (event as DynamoDBStreamEvent).Records) seen.push(record.dynamodb?.Keys?.pk?.S ?? '')
    return { batchItemFailures: [] }
  }
  const put = (pk: string) => clients.dynamodb.send(new PutItemCommand({ TableName: config.tableName, Item: { pk: { S: pk }, sk: { S: 'ITEM' } } }))
  const start = () => {
    const poller = startStreamPoller({
      ...streamPollerOptions(bootstrapped, { invocationTimeoutMs: 5_000, dispatch, logger: createLogger({ logLevel: 'silent' }) }),
      pollIntervalMs: 50,
      position: fileStreamPosition(path, resources.streamArn)
    })
    t.teardown(() => poller.stop())
    return poller
  }

  for (const pk of ['ITEM#1', 'ITEM#2']) await put(pk)
  const first = start()
  await waitFor('the first run reads both', () => seen.length === 2)
  await first.stop()
  t.match(JSON.parse(await readFile(path, 'utf8')), { streamArn: resources.streamArn, shards: {} }, 'the position is saved')

  await put('ITEM#3')
  const second = start()
  await waitFor('the record written while stopped', () => seen.includes('ITEM#3'))
  await second.stop()
  t.same(seen, ['ITEM#1', 'ITEM#2', 'ITEM#3'], 'nothing read twice')
})
