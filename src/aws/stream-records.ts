import type { DynamoDBStreamsClient, _Record as StreamsRecord } from '@aws-sdk/client-dynamodb-streams'
import type { DynamoDBRecord } from 'aws-lambda'

/** An item image as Lambda delivers it: the same attribute-value JSON the SDK reads. */
type StreamImage = NonNullable<NonNullable<DynamoDBRecord['dynamodb']>['Keys']>

/** Turns a record read from the stream into the record Lambda would deliver for it. */
export function toLambdaRecord (record: StreamsRecord, options: { streamArn: string, region: string }): DynamoDBRecord {
  const { dynamodb = {} } = record
  const created = dynamodb.ApproximateCreationDateTime
  return {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: options.region,
    eventSourceARN: options.streamArn,
    dynamodb: {
      ...(created !== undefined && { ApproximateCreationDateTime: Math.floor(new Date(created).getTime() / 1000) }),
      Keys: dynamodb.Keys as StreamImage,
      ...(dynamodb.NewImage !== undefined && { NewImage: dynamodb.NewImage as StreamImage }),
      ...(dynamodb.OldImage !== undefined && { OldImage: dynamodb.OldImage as StreamImage }),
      SequenceNumber: dynamodb.SequenceNumber,
      SizeBytes: dynamodb.SizeBytes,
      StreamViewType: dynamodb.StreamViewType
    }
  }
}

/** The records a stream mapping's on-failure record names: one shard, a sequence number range. */
export interface StreamRange {
  streamArn: string
  shardId: string
  startSequenceNumber: string
  endSequenceNumber: string
}

/** The range's records, or why they can no longer be read. */
export type StreamRangeRead = { records: DynamoDBRecord[] } | { unavailable: string }

/** Reads per GetRecords call; a stream batch is at most 10,000 records. */
const READ_LIMIT = 1000
/** Reads that return nothing before the range is given up on (an open shard may answer empty now and then). */
const MAX_EMPTY_READS = 5

/**
 * Reads a discarded batch's records back from the stream, from its first sequence number to its
 * last, within the 24 hours the stream keeps them, as Lambda would have delivered them. Records
 * of the range that were not in the discarded batch (another batch's, with a parallelization
 * factor above 1) come too: the change handlers are idempotent, so running them again is safe.
 * A range the stream no longer has (trimmed, or its shard or stream gone) is `unavailable`,
 * saying why; any other error is thrown, to be tried again. The SDK client loads on first use:
 * a cold start never needs it.
 * NOTE: https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html (an SQS destination gets only the range)
 * NOTE: https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_GetShardIterator.html
 */
export async function readStreamRange (client: () => Promise<DynamoDBStreamsClient>, range: StreamRange, region: string): Promise<StreamRangeRead> {
  const { GetRecordsCommand, GetShardIteratorCommand, ResourceNotFoundException, TrimmedDataAccessException } = await import('@aws-sdk/client-dynamodb-streams')
  const streams = await client()
  const end = BigInt(range.endSequenceNumber)
  const records: DynamoDBRecord[] = []
  try {
    let { ShardIterator: iterator } = await streams.send(new GetShardIteratorCommand({
      StreamArn: range.streamArn,
      ShardId: range.shardId,
      ShardIteratorType: 'AT_SEQUENCE_NUMBER',
      SequenceNumber: range.startSequenceNumber
    }))
    let empty = 0
    while (iterator !== undefined && iterator !== null) {
      const response = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: READ_LIMIT }))
      const read = response.Records ?? []
      for (const record of read) {
        const sequenceNumber = record.dynamodb?.SequenceNumber
        if (sequenceNumber !== undefined && BigInt(sequenceNumber) > end) return { records }
        records.push(toLambdaRecord(record, { streamArn: range.streamArn, region }))
      }
      if (records.at(-1)?.dynamodb?.SequenceNumber === range.endSequenceNumber) return { records }
      empty = read.length === 0 ? empty + 1 : 0
      if (empty >= MAX_EMPTY_READS) break
      iterator = response.NextShardIterator
    }
  } catch (error) {
    if (error instanceof TrimmedDataAccessException) return { unavailable: `the stream no longer keeps these records (it keeps them 24 hours): ${error.message}` }
    if (error instanceof ResourceNotFoundException) return { unavailable: `the stream or its shard is gone: ${error.message}` }
    if ((error as Error).name === 'ValidationException') return { unavailable: `the stream refused the range: ${(error as Error).message}` }
    throw error
  }
  return records.length === 0 ? { unavailable: 'the stream returned none of the range\'s records' } : { records }
}
