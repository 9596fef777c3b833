import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams'
import { SQSClient } from '@aws-sdk/client-sqs'
import type { Config } from '../config/load.js'

/** The AWS SDK clients paylith uses, built once per process and shared. */
export interface AwsClients {
  dynamodb: DynamoDBClient
  sqs: SQSClient
}

/**
 * Options for one service's client: the region and, when set, the endpoint (a local emulator
 * or LocalStack). DynamoDB and its streams may have an endpoint of their own.
 */
export function clientOptions (config: Pick<Config, 'aws'>, service: 'dynamodb' | 'sqs'): { region: string; endpoint?: string } {
  const endpoint = (service === 'dynamodb' ? config.aws.dynamodbEndpoint : undefined) ?? config.aws.endpoint
  return endpoint === undefined ? { region: config.aws.region } : { region: config.aws.region, endpoint }
}

/** Builds the SDK clients from configuration; no network calls happen here. */
export function createAwsClients (config: Pick<Config, 'aws'>): AwsClients {
  return {
    dynamodb: new DynamoDBClient(clientOptions(config, 'dynamodb')),
    sqs: new SQSClient(clientOptions(config, 'sqs'))
  }
}

/** A DynamoDB Streams client built (and its SDK loaded) on first use, then shared: only a stream dead letter reads the stream. */
export function lazyStreamsClient (config: Pick<Config, 'aws'>): () => Promise<DynamoDBStreamsClient> {
  let client: Promise<DynamoDBStreamsClient> | undefined
  return async () => {
    client ??= import('@aws-sdk/client-dynamodb-streams').then(({ DynamoDBStreamsClient }) => new DynamoDBStreamsClient(clientOptions(config, 'dynamodb')))
    return client
  }
}
