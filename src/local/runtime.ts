import { randomBytes, randomUUID } from 'node:crypto'
import type { ScheduledEvent } from 'aws-lambda'
import type { Logger } from 'pino'
import type { App } from '../app.js'
import { bootstrapLocal, type LocalResources, type QueueRef } from './bootstrap.js'
import { serveDocsAssets, serveLocalServerUrl } from './docs-assets.js'
import { startLocalEmulator, type LocalEmulator } from './emulator.js'
import type { Config } from '../config/load.js'
import type { Deps } from '../deps.js'
import type { MetricsDestination } from '../observability/metrics.js'
import { sandboxFromConfig, type SandboxProvider } from '../providers/sandbox.js'
import { createService } from '../service.js'
import { invokeLocally } from './lambda-context.js'
import { startPolling, type Poller } from './poller.js'
import { startSqsPoller } from './sqs-poller.js'
import { startStreamPoller, streamPollerOptions } from './stream-poller.js'

/** The whole service running on one machine: HTTP server, pollers and, if started, the emulator. */
export interface LocalRuntime {
  app: App
  /** The URL the HTTP server listens on. */
  url: string
  config: Config
  resources: LocalResources
  deps: Deps
  /** The sandbox provider, when it is the one in use. */
  sandbox: SandboxProvider | undefined
  /** Stops accepting requests, stops the pollers, then the emulator. */
  stop: () => Promise<void>
}

/**
 * Starts paylith locally: the embedded emulator when no AWS endpoint is configured, the table
 * and queues from the shared definitions, the HTTP server, and one poller per event source
 * that feeds the same dispatch as lambda.ts.
 */
export async function startLocalRuntime (baseConfig: Config, logger: Logger, { metricsDestination }: { metricsDestination?: MetricsDestination } = {}): Promise<LocalRuntime> {
  let emulator: LocalEmulator | undefined
  let config = baseConfig
  if (config.aws.endpoint === undefined) {
    emulator = await startLocalEmulator({ command: config.localEmulatorCommand })
    config = { ...config, aws: { ...config.aws, endpoint: emulator.endpoint } }
    logger.info({ endpoint: emulator.endpoint }, 'started the embedded local AWS emulator (moto_server)')
  }

  const pollers: Poller[] = []
  let app: App | undefined
  let sandbox: SandboxProvider | undefined
  // Stop taking work first, let the sandbox's webhooks land, then close the server and the emulator.
  const stop = async (): Promise<void> => {
    await Promise.all(pollers.map((poller) => poller.stop()))
    await sandbox?.drain()
    await app?.close()
    await emulator?.stop()
  }

  let url: string | undefined
  try {
    const bootstrapped = await bootstrapLocal(withLocalWebhookSecret(config, logger))
    const { clients, resources } = bootstrapped
    config = bootstrapped.config
    // The sandbox posts its signed webhooks to this very server unless told otherwise, so a
    // local run shows the whole loop: create → charge → webhook → final status.
    sandbox = config.provider.name === 'sandbox'
      ? sandboxFromConfig(config, logger, () => new Date(), config.provider.sandbox.webhookUrl ?? (() => url === undefined ? undefined : `${url}/v1/webhooks/standard`))
      : undefined
    const service = createService(config, { logger, metricsDestination, ...clients, ...(sandbox !== undefined && { provider: sandbox }) })
    const { deps, workers, handler: dispatch } = service
    app = service.app
    serveDocsAssets(app)
    serveLocalServerUrl(app, () => url)
    url = await app.listen({ port: config.port, host: config.host })

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
      pollers.push(startStreamPoller(streamPollerOptions(bootstrapped, { invocationTimeoutMs, dispatch, logger })))
    }
    // EventBridge's schedule, locally: the same scheduled event, on a timer.
    pollers.push(startPolling(async () => {
      await invokeLocally(dispatch, scheduledEvent(config.aws.region), 'paylith-local', invocationTimeoutMs)
      return false
    }, { idleMs: config.sweeper.localIntervalSeconds * 1000, onError: (error) => logger.error({ err: error }, 'the scheduled sweep failed') }))
    return { app, url, config, resources, deps, sandbox, stop }
  } catch (error) {
    await stop()
    throw error
  }
}

/**
 * Locally, with no webhook secrets configured, a Standard Webhooks secret is generated for this
 * run, so the sandbox can sign its webhooks and the webhook route can verify them.
 */
function withLocalWebhookSecret (config: Config, logger: Logger): Config {
  const { secrets, secretsArn } = config.webhooks
  if (secretsArn !== undefined || secrets.standard.length > 0) return config
  logger.info('no Standard Webhooks secret configured: generated one for this run, for the sandbox\'s webhooks')
  return { ...config, webhooks: { ...config.webhooks, secrets: { ...secrets, standard: [`whsec_${randomBytes(32).toString('base64')}`] } } }
}

/** The event EventBridge sends for a scheduled rule. */
function scheduledEvent (region: string): ScheduledEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '000000000000',
    time: new Date().toISOString(),
    region,
    resources: ['arn:aws:events:local:000000000000:rule/paylith-sweep'],
    detail: {}
  }
}
