import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { SQSClient } from '@aws-sdk/client-sqs'
import { clientOptions } from '../aws/clients.js'
import type { Config } from '../config/load.js'

// Apart from src/aws/clients.ts so that the Lambda bundle, which builds its SQS client on first
// use, does not import the SQS SDK statically through this module.

/** The AWS SDK clients the local runtime, the tests and the scripts build up front (Lambda builds SQS's on first use). */
export interface AwsClients {
  dynamodb: DynamoDBClient
  sqs: SQSClient
}

/** Builds the SDK clients from configuration; no network calls happen here. */
export function createAwsClients (config: Pick<Config, 'aws'>): AwsClients {
  return {
    dynamodb: new DynamoDBClient(clientOptions(config, 'dynamodb')),
    sqs: new SQSClient(clientOptions(config, 'sqs'))
  }
}
