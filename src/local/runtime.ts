import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams'
import type { Logger } from 'pino'
import { buildApp, type App } from '../app.js'
import { ensureResources, type LocalResources, type QueueRef } from '../aws/bootstrap.js'
import { clientOptions, createAwsClients } from '../aws/clients.js'
import { startLocalEmulator, type LocalEmulator } from '../aws/local-emulator.js'
import type { Config } from '../config.js'
import { createDeps } from '../deps.js'
import { createLambdaHandler } from '../handler.js'
import { createWorkers } from '../workers/index.js'
import type { Poller } from './poller.js'
import { startSqsPoller } from './sqs-poller.js'
import { startStreamPoller } from './stream-poller.js'

/** The whole service running on one machine: HTTP server, pollers and, if started, the emulator. */
export interface LocalRuntime {
  app: App
  /** The URL the HTTP server listens on. */
  url: string
  config: Config
  resources: LocalResources
  /** Stops accepting requests, stops the pollers, then the emulator. */
  stop: () => Promise<void>
}

/**
 * Starts paylith locally: the embedded emulator when no AWS endpoint is configured, the table
 * and queues from the shared definitions, the HTTP server, and one poller per event source
 * that feeds the same dispatch as lambda.ts.
 */
export async function startLocalRuntime (baseConfig: Config, logger: Logger): Promise<LocalRuntime> {
  let emulator: LocalEmulator | undefined
  let config = baseConfig
  if (config.aws.endpoint === undefined) {
    emulator = await startLocalEmulator({ command: config.localEmulatorCommand })
    config = { ...config, aws: { ...config.aws, endpoint: emulator.endpoint } }
    logger.info({ endpoint: emulator.endpoint }, 'started the embedded local AWS emulator (moto_server)')
  }

  const pollers: Poller[] = []
  let app: App | undefined
  const stop = async (): Promise<void> => {
    await app?.close()
    await Promise.all(pollers.map((poller) => poller.stop()))
    await emulator?.stop()
  }

  try {
    const clients = createAwsClients(config)
    const resources = await ensureResources(clients, config)
    config = {
      ...config,
      queues: {
        work: { name: resources.queues.work.name, url: resources.queues.work.url },
        deadLetter: { name: resources.queues.deadLetter.name, url: resources.queues.deadLetter.url }
      }
    }
    const deps = createDeps(config, { logger, ...clients })
    app = buildApp({ deps })
    const workers = createWorkers(deps)
    const dispatch = createLambdaHandler({ app, workers })
    const url = await app.listen({ port: config.port, host: config.host })

    const invocationTimeoutMs = config.visibilityTimeoutSeconds * 1000
    const queues: QueueRef[] = [resources.queues.work, resources.queues.deadLetter]
    for (const queue of queues.filter((q) => workers.queues[q.name] !== undefined)) {
      pollers.push(startSqsPoller({
        sqs: clients.sqs,
        queue,
        region: config.aws.region,
        batchSize: config.pollers.sqsBatchSize,
        waitTimeSeconds: config.pollers.sqsWaitTimeSeconds,
        invocationTimeoutMs,
        dispatch,
        logger
      }))
    }
    if (workers.streams[config.tableName] !== undefined) {
      pollers.push(startStreamPoller({
        streams: new DynamoDBStreamsClient(clientOptions(config, 'dynamodb')),
        sqs: clients.sqs,
        streamArn: resources.streamArn,
        onFailureQueueUrl: resources.queues.deadLetter.url,
        region: config.aws.region,
        batchSize: config.pollers.streamBatchSize,
        maxRetries: config.pollers.streamMaxRetries,
        pollIntervalMs: config.pollers.streamPollIntervalMs,
        invocationTimeoutMs,
        dispatch,
        logger
      }))
    }
    return { app, url, config, resources, stop }
  } catch (error) {
    await stop()
    throw error
  }
}
