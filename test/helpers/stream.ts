import { DescribeStreamCommand, DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-dynamodb-streams'
import type { DynamoDBRecord } from 'aws-lambda'
import { clientOptions } from '../../src/aws/clients.js'
import type { Config } from '../../src/config/load.js'
import { toLambdaRecord } from '../../src/aws/stream-records.js'

/**
 * Every record the table's stream holds so far, shard by shard, in stream order, as Lambda
 * delivers them (what the local poller hands to dispatch).
 */
export async function streamRecords (config: Pick<Config, 'aws'>, streamArn: string): Promise<DynamoDBRecord[]> {
  const streams = new DynamoDBStreamsClient(clientOptions(config, 'dynamodb'))
  const records: DynamoDBRecord[] = []
  try {
    const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }))
    for (const shard of StreamDescription?.Shards ?? []) {
      let iterator = (await streams.send(new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator
      // An open shard always hands out a next iterator: stop at the first empty read.
      while (iterator !== undefined) {
        const response = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }))
        const read = response.Records ?? []
        records.push(...read.map((record) => toLambdaRecord(record, { streamArn, region: config.aws.region })))
        iterator = read.length === 0 ? undefined : response.NextShardIterator
      }
    }
  } finally {
    streams.destroy()
  }
  return records
}
