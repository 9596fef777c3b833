import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { SQSClient } from '@aws-sdk/client-sqs'
import type { Config } from '../config.js'

/** The AWS SDK clients paylith uses, built once per process and shared. */
export interface AwsClients {
  dynamodb: DynamoDBClient
  sqs: SQSClient
}

/** Options every client shares: region and, when set, the endpoint (local emulator or LocalStack). */
export function clientOptions (config: Pick<Config, 'aws'>): { region: string; endpoint?: string } {
  return config.aws.endpoint === undefined
    ? { region: config.aws.region }
    : { region: config.aws.region, endpoint: config.aws.endpoint }
}

/** Builds the SDK clients from configuration; no network calls happen here. */
export function createAwsClients (config: Pick<Config, 'aws'>): AwsClients {
  const options = clientOptions(config)
  return {
    dynamodb: new DynamoDBClient(options),
    sqs: new SQSClient(options)
  }
}
