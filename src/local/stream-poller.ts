import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb'
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ResourceNotFoundException,
  TrimmedDataAccessException
} from '@aws-sdk/client-dynamodb-streams'
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs'
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda'
import type { Logger } from 'pino'
import { clientOptions } from '../aws/clients.js'
import { toLambdaRecord } from '../aws/stream-records.js'
import type { ReadinessCheck } from '../deps.js'
import type { Dispatch } from '../lambda/dispatch.js'
import { lowestSequenceNumber } from '../lib/sequence-numbers.js'
import type { Bootstrapped } from './bootstrap.js'
import { invokeLocally } from './lambda-context.js'
import { startPolling, type Poller } from './poller.js'
import type { StreamPosition } from './stream-position.js'

/** What the stream poller needs. */
export interface StreamPollerOptions {
  streams: DynamoDBStreamsClient
  sqs: SQSClient
  /** Reads the table's current stream when the one followed is gone (the table was recreated). */
  dynamodb: DynamoDBClient
  tableName: string
  streamArn: string
  /** Where a batch that exhausted its retries is reported (Lambda's on-failure destination). */
  onFailureQueueUrl: string
  region: string
  batchSize: number
  maxRetries: number
  pollIntervalMs: number
  invocationTimeoutMs: number
  dispatch: Dispatch
  logger: Logger
  /** Where to resume from and save progress to; without it, every shard is read from its start. */
  position?: StreamPosition
}

/**
 * The options of a local run's table-stream poller: the stream and the on-failure queue the
 * bootstrap made, and the mapping's settings (STREAM_*) from the configuration.
 */
export function streamPollerOptions ({ config, clients, resources }: Bootstrapped, invoke: Pick<StreamPollerOptions, 'dispatch' | 'logger' | 'invocationTimeoutMs'>): StreamPollerOptions {
  return {
    streams: new DynamoDBStreamsClient(clientOptions(config, 'dynamodb')),
    sqs: clients.sqs,
    dynamodb: clients.dynamodb,
    tableName: config.tableName,
    streamArn: resources.streamArn,
    onFailureQueueUrl: resources.queues.deadLetter.url,
    region: config.aws.region,
    batchSize: config.pollers.streamBatchSize,
    maxRetries: config.pollers.streamMaxRetries,
    pollIntervalMs: config.pollers.streamPollIntervalMs,
    ...invoke
  }
}

interface ShardState {
  id: string
  parentId: string | undefined
  /** Undefined until first read; null once the shard has ended (closed by a split). */
  iterator: string | undefined | null
  /** Records read but not yet done: the head is where the next invocation starts. */
  pending: DynamoDBRecord[]
  /**
   * After an invocation failed and its batch was split in two: the sizes of the parts still to
   * invoke, in order, from the head of `pending`. Empty when the next batch is a whole one.
   */
  parts: number[]
  /** Failed invocations of the record at the head (the retries it spent, plus its first try). */
  attempts: number
  /**
   * Records at the head that exhausted their retries and were skipped: not yet reported to the
   * on-failure queue, so not yet checkpointed either (a restart tries them again).
   */
  discarded: Discarded | undefined
  lastSequenceNumber: string | undefined
  closed: boolean
}

/** How a stream poller is doing, for readiness. */
export interface StreamPollerHealth {
  /** The stream being read now (changes when the table is recreated). */
  streamArn: string
  /** When the last poll cycle (describe the stream, read its shards) ended without error; the start time until then. */
  lastSuccessAt: Date
}

/** A running stream poller that can say how it is doing. */
export interface StreamPoller extends Poller {
  health: () => StreamPollerHealth
}

/**
 * Emulates a Lambda DynamoDB Stream event source mapping with ReportBatchItemFailures and
 * BisectBatchOnFunctionError: reads every shard in order (a child only after its parent),
 * hands batches to `dispatch`, retries from the lowest reported sequence number, splits a
 * batch whose invocation throws or times out in two and retries each half (without spending
 * retries) down to the failing record, and after `maxRetries` failed retries of a record skips
 * it and reports it to the on-failure queue (adjacent skipped records in one report, its range
 * naming them all), so a shard never stays blocked. Follows the table to its new stream when
 * the one it reads is gone, and drops shards that vanished.
 */
export function startStreamPoller (options: StreamPollerOptions): StreamPoller {
  // A copy: the stream it follows can change, the caller's options do not.
  const current: StreamPollerOptions = { ...options }
  let log = options.logger.child({ poller: 'stream', streamArn: current.streamArn })
  let shards = new Map<string, ShardState>()
  let saved = options.position?.load() ?? {}
  let lastSuccessAt = new Date()

  const poller = startPolling(async () => {
    const followed = await discoverShards(current, shards, saved)
    if (followed !== undefined) {
      log.warn({ newStreamArn: followed }, 'the stream is gone; following the table\'s new stream from its start')
      // The old stream's shards and saved position mean nothing on the new stream.
      current.streamArn = followed
      current.position = undefined
      log = options.logger.child({ poller: 'stream', streamArn: followed })
      shards = new Map()
      saved = {}
      await discoverShards(current, shards, saved)
    }
    let worked = false
    for (const shard of shards.values()) {
      if (shard.closed || !parentDone(shard, shards)) continue
      worked = (await pollShard(shard, current, log)) || worked
    }
    lastSuccessAt = new Date()
    return worked
  }, { idleMs: options.pollIntervalMs, onError: (error) => log.error({ err: error }, 'reading the stream failed') })
  return { stop: poller.stop, health: () => ({ streamArn: current.streamArn, lastSuccessAt }) }
}

/** The readiness check of a stream poller: stale once no cycle succeeded for `staleAfterMs`. */
export function streamPollerCheck (poller: Pick<StreamPoller, 'health'>, staleAfterMs: number, now: () => Date = () => new Date()): ReadinessCheck {
  const { streamArn, lastSuccessAt } = poller.health()
  const ageMs = now().getTime() - lastSuccessAt.getTime()
  return ageMs <= staleAfterMs
    ? { name: 'streamPoller', ok: true, detail: `read ${streamArn} ${ageMs} ms ago` }
    : { name: 'streamPoller', ok: false, detail: `the stream poller has not read ${streamArn} for ${ageMs} ms (bound ${staleAfterMs} ms)` }
}

/** How long a stream poller may go without a successful cycle before it is not ready. */
export function streamPollerStaleAfterMs (pollIntervalMs: number): number {
  return Math.max(30_000, 10 * pollIntervalMs)
}

/**
 * Adds the stream's new shards. When the stream is gone (ResourceNotFound) or disabled and
 * read to its end, returns the table's current stream if it is another one.
 */
async function discoverShards (options: StreamPollerOptions, shards: Map<string, ShardState>, saved: Record<string, string>): Promise<string | undefined> {
  let exclusiveStartShardId: string | undefined
  do {
    let description
    try {
      description = (await options.streams.send(new DescribeStreamCommand({ StreamArn: options.streamArn, ExclusiveStartShardId: exclusiveStartShardId }))).StreamDescription
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error
      return latestStreamArn(options, error)
    }
    for (const shard of description?.Shards ?? []) {
      if (shard.ShardId === undefined || shards.has(shard.ShardId)) continue
      shards.set(shard.ShardId, {
        id: shard.ShardId,
        parentId: shard.ParentShardId,
        iterator: undefined,
        pending: [],
        parts: [],
        attempts: 0,
        discarded: undefined,
        // A saved position: resume after it rather than replay the shard.
        lastSequenceNumber: saved[shard.ShardId],
        closed: false
      })
    }
    exclusiveStartShardId = description?.LastEvaluatedShardId
    // A deleted table's stream stays readable for a while: finish it before moving on.
    const disabled = description?.StreamStatus === 'DISABLED' || description?.StreamStatus === 'DISABLING'
    if (disabled && exclusiveStartShardId === undefined && [...shards.values()].every((shard) => shard.closed)) {
      const latest = await latestStreamArn(options)
      if (latest !== undefined) return latest
    }
  } while (exclusiveStartShardId !== undefined)
  return undefined
}

/** The table's current stream when it is not the one followed; `gone` is thrown when there is none to follow. */
async function latestStreamArn (options: StreamPollerOptions, gone?: Error): Promise<string | undefined> {
  const { Table } = await options.dynamodb.send(new DescribeTableCommand({ TableName: options.tableName }))
  const latest = Table?.LatestStreamArn
  if (latest !== undefined && latest !== options.streamArn) return latest
  if (gone !== undefined) throw gone
  return undefined
}

function parentDone (shard: ShardState, shards: Map<string, ShardState>): boolean {
  const parent = shard.parentId === undefined ? undefined : shards.get(shard.parentId)
  return parent === undefined || parent.closed
}

/**
 * Reads (if nothing is pending) and invokes once for one shard. Says whether there was work.
 *
 * NOTE: as Lambda with BisectBatchOnFunctionError: an invocation that fails (throws or times
 * out) splits its batch in two, and each half is retried, in order; splitting spends no retry.
 * A record that fails alone spends them; once they are exhausted it is discarded, its metadata
 * sent to the on-failure destination, where Lambda consolidates failed records, so one message
 * may name a range of several (DDBStreamBatchInfo.batchSize). A partial batch response is
 * retried from the lowest reported sequence number.
 * https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html
 * https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-lambda-eventsourcemapping.html
 */
async function pollShard (shard: ShardState, options: StreamPollerOptions, log: Logger): Promise<boolean> {
  if (shard.pending.length === 0) {
    // Skipped records whose report could not be sent yet: send it before reading on.
    await reportDiscarded(shard, options, log)
    if (shard.iterator === null) {
      shard.closed = true
      return false
    }
    try {
      await readShard(shard, options)
    } catch (error) {
      // The shard vanished (trimmed away, or its stream went with the table): drop it.
      if (!(error instanceof ResourceNotFoundException)) throw error
      log.warn({ shardId: shard.id }, 'the shard is gone; dropping it')
      shard.pending = []
      shard.parts = []
      shard.closed = true
      return false
    }
  }
  if (shard.pending.length === 0) return false

  const batch = shard.pending.slice(0, shard.parts[0] ?? options.batchSize)
  const outcome = await invoke(batch, options, log)
  if (outcome.failedAt === undefined) {
    await checkpoint(shard, batch.length, options, log)
    shard.attempts = 0
    return true
  }

  if (outcome.functionError && batch.length > 1) {
    const half = Math.ceil(batch.length / 2)
    shard.parts.splice(0, 1, half, batch.length - half)
    log.warn({ shardId: shard.id, batchSize: batch.length, halves: [half, batch.length - half] }, 'the invocation failed; retrying its batch in two halves')
    return true
  }

  // Records before the failed one are done; retry from it. Progress restarts the count.
  if (outcome.failedAt > 0) {
    await checkpoint(shard, outcome.failedAt, options, log)
    shard.attempts = 1
  } else {
    shard.attempts += 1
  }
  if (shard.attempts > options.maxRetries) await discardHead(shard, options, log)
  return true
}

/** Records that exhausted their retries, adjacent in the shard, skipped but not yet reported. */
interface Discarded {
  records: DynamoDBRecord[]
  /** The most invocations one of them had. */
  invokeCount: number
}

/** Marks the first `count` pending records done: reports what was discarded before them, then saves the position after them. */
async function checkpoint (shard: ShardState, count: number, options: StreamPollerOptions, log: Logger): Promise<void> {
  // Never checkpoint past a skipped record before its report is sent: if it cannot be, a
  // restart tries it again, and nothing is lost.
  await reportDiscarded(shard, options, log)
  savePosition(shard.pending[count - 1], shard, options)
  dropHead(shard, count)
}

/** Skips the record at the head, which exhausted its retries; it is reported with any skipped right before it. */
async function discardHead (shard: ShardState, options: StreamPollerOptions, log: Logger): Promise<void> {
  const record = shard.pending[0]
  if (record === undefined) return
  log.error({ shardId: shard.id, attempts: shard.attempts, sequenceNumber: record.dynamodb?.SequenceNumber }, 'stream record exhausted its retries; skipped, to be reported to the on-failure queue')
  const discarded = shard.discarded ?? { records: [], invokeCount: 0 }
  discarded.records.push(record)
  discarded.invokeCount = Math.max(discarded.invokeCount, shard.attempts)
  shard.discarded = discarded
  dropHead(shard, 1)
  shard.attempts = 0
  // The next record read may not come for a while: report now rather than wait for it.
  if (shard.pending.length === 0) await reportDiscarded(shard, options, log)
}

function dropHead (shard: ShardState, count: number): void {
  shard.pending = shard.pending.slice(count)
  const part = shard.parts[0]
  if (part === undefined) return
  if (part > count) shard.parts[0] = part - count
  else shard.parts.shift()
}

function savePosition (done: DynamoDBRecord | undefined, shard: ShardState, options: StreamPollerOptions): void {
  const sequenceNumber = done?.dynamodb?.SequenceNumber
  if (sequenceNumber !== undefined) options.position?.save(shard.id, sequenceNumber)
}

async function readShard (shard: ShardState, options: StreamPollerOptions): Promise<void> {
  shard.iterator ??= await shardIterator(shard, options)
  let response
  try {
    response = await options.streams.send(new GetRecordsCommand({ ShardIterator: shard.iterator, Limit: options.batchSize }))
  } catch (error) {
    if (!(error instanceof ExpiredIteratorException)) throw error
    shard.iterator = await shardIterator(shard, options)
    return
  }
  const records = (response.Records ?? []).map((record) => toLambdaRecord(record, options))
  shard.pending = records
  const last = records.at(-1)?.dynamodb?.SequenceNumber
  if (last !== undefined) shard.lastSequenceNumber = last
  shard.iterator = response.NextShardIterator ?? null
}

async function shardIterator (shard: ShardState, options: StreamPollerOptions): Promise<string | undefined> {
  const resume = shard.lastSequenceNumber
  const fromStart = async (): Promise<string | undefined> => (await options.streams.send(new GetShardIteratorCommand({
    StreamArn: options.streamArn,
    ShardId: shard.id,
    ShardIteratorType: 'TRIM_HORIZON'
  }))).ShardIterator
  if (resume === undefined) return fromStart()
  try {
    const { ShardIterator } = await options.streams.send(new GetShardIteratorCommand({
      StreamArn: options.streamArn,
      ShardId: shard.id,
      ShardIteratorType: 'AFTER_SEQUENCE_NUMBER',
      SequenceNumber: resume
    }))
    return ShardIterator
  } catch (error) {
    // The saved position is older than the stream keeps (24 hours): what is left is all new.
    if (!(error instanceof TrimmedDataAccessException)) throw error
    return fromStart()
  }
}

/** How an invocation went: `failedAt` is the index of the lowest failed record, undefined if all succeeded. */
interface Outcome {
  failedAt: number | undefined
  /** The invocation itself failed (threw or timed out): the whole batch failed. */
  functionError: boolean
}

/** Invokes once with `batch`. */
async function invoke (batch: DynamoDBRecord[], options: StreamPollerOptions, log: Logger): Promise<Outcome> {
  const event: DynamoDBStreamEvent = { Records: batch }
  let response: DynamoDBBatchResponse
  try {
    response = await invokeLocally<DynamoDBBatchResponse>(options.dispatch, event, 'paylith-local', options.invocationTimeoutMs)
  } catch (error) {
    log.error({ err: error, batchSize: batch.length }, 'the invocation failed')
    return { failedAt: 0, functionError: true }
  }
  const lowest = lowestSequenceNumber(response.batchItemFailures.map((failure) => failure.itemIdentifier))
  if (lowest === undefined) return { failedAt: undefined, functionError: false }
  const index = batch.findIndex((record) => record.dynamodb?.SequenceNumber === lowest)
  return { failedAt: index === -1 ? 0 : index, functionError: false }
}

/** Sends the skipped records' metadata to the on-failure queue (one message for the range), then checkpoints past them. */
async function reportDiscarded (shard: ShardState, options: StreamPollerOptions, log: Logger): Promise<void> {
  const { discarded } = shard
  const first = discarded?.records[0]?.dynamodb
  const last = discarded?.records.at(-1)?.dynamodb
  if (discarded === undefined || first === undefined || last === undefined) return
  const arrival = (seconds: number | undefined): string | undefined => seconds === undefined ? undefined : new Date(seconds * 1000).toISOString()
  // The shape Lambda sends to a stream mapping's on-failure destination.
  const message = {
    requestContext: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: discarded.invokeCount },
    responseContext: { statusCode: 200, executedVersion: '$LATEST' },
    version: '1.0',
    timestamp: new Date().toISOString(),
    DDBStreamBatchInfo: {
      shardId: shard.id,
      startSequenceNumber: first.SequenceNumber,
      endSequenceNumber: last.SequenceNumber,
      approximateArrivalOfFirstRecord: arrival(first.ApproximateCreationDateTime),
      approximateArrivalOfLastRecord: arrival(last.ApproximateCreationDateTime),
      batchSize: discarded.records.length,
      streamArn: options.streamArn
    }
  }
  await options.sqs.send(new SendMessageCommand({ QueueUrl: options.onFailureQueueUrl, MessageBody: JSON.stringify(message) }))
  log.warn({ shardId: shard.id, startSequenceNumber: first.SequenceNumber, endSequenceNumber: last.SequenceNumber, batchSize: discarded.records.length }, 'skipped stream records reported to the on-failure queue')
  shard.discarded = undefined
  savePosition(discarded.records.at(-1), shard, options)
}
