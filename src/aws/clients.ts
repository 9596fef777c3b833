import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams'
import type { SQSClient } from '@aws-sdk/client-sqs'
import type { Config } from '../config/load.js'
import { onceAsync } from '../lib/once.js'

/**
 * Options for one service's client: the region and, when set, the endpoint (a local emulator
 * or LocalStack). DynamoDB and its streams may have an endpoint of their own.
 */
export function clientOptions (config: Pick<Config, 'aws'>, service: 'dynamodb' | 'sqs'): { region: string; endpoint?: string } {
  const endpoint = (service === 'dynamodb' ? config.aws.dynamodbEndpoint : undefined) ?? config.aws.endpoint
  return endpoint === undefined ? { region: config.aws.region } : { region: config.aws.region, endpoint }
}

/** A client built on its first use, then shared. */
export interface LazyClient<T> {
  (): Promise<T>
  /** Runs `use` on the client once it is built (at once if it is already): how tracing instruments it. */
  onCreate: (use: (client: T) => void) => void
}

/** `create` called on the first use only (concurrent first uses share it); a failed create is tried again on the next use. */
export function lazyClient<T> (create: () => Promise<T>): LazyClient<T> {
  let built: T | undefined
  const uses: Array<(client: T) => void> = []
  const get = onceAsync(async () => {
    const made = await create()
    for (const use of uses) use(made)
    built = made
    return made
  })
  return Object.assign(get, {
    onCreate (use: (client: T) => void) {
      if (built !== undefined) use(built)
      else uses.push(use)
    }
  })
}

/**
 * The SQS client, built (and the SQS SDK loaded) on first use: the HTTP path never sends to SQS
 * (the outbox relays through the table's stream), so an API cold start does not load it.
 */
export function lazySqsClient (config: Pick<Config, 'aws'>): LazyClient<SQSClient> {
  return lazyClient(async () => {
    const { SQSClient } = await import('@aws-sdk/client-sqs')
    return new SQSClient(clientOptions(config, 'sqs'))
  })
}

/** A DynamoDB Streams client built (and its SDK loaded) on first use, then shared: only a stream dead letter reads the stream. */
export function lazyStreamsClient (config: Pick<Config, 'aws'>): LazyClient<DynamoDBStreamsClient> {
  return lazyClient(async () => {
    const { DynamoDBStreamsClient } = await import('@aws-sdk/client-dynamodb-streams')
    return new DynamoDBStreamsClient(clientOptions(config, 'dynamodb'))
  })
}
