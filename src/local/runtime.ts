import { randomBytes } from 'node:crypto'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import type { ScheduledEvent } from 'aws-lambda'
import type { Logger } from 'pino'
import type { App } from '../app.js'
import { bootstrapLocal, type LocalResources, type QueueRef } from './bootstrap.js'
import { serveDocsAssets, serveLocalServerUrl } from './docs-assets.js'
import { startDynamoDbLocal, startLocalEmulator, type LocalEmulator } from './emulator.js'
import type { Config } from '../config/load.js'
import type { Deps, ReadinessCheck } from '../deps.js'
import { MetricName, type MetricsDestination } from '../observability/metrics.js'
import { sandboxFromConfig, type SandboxProvider } from '../providers/sandbox.js'
import { createService } from '../service.js'
import { invokeLocally } from './lambda-context.js'
import { startPolling, type Poller } from './poller.js'
import { scheduledExampleEvent } from './events.js'
import { startSqsPoller } from './sqs-poller.js'
import { startStreamPoller, streamPollerCheck, streamPollerOptions, streamPollerStaleAfterMs } from './stream-poller.js'
import { fileStreamPosition } from './stream-position.js'
import { watchFaults, type FaultsWatcher } from './faults.js'
import { injectThrottling } from './injected-throttling.js'
import { createRefundSweeper, createSweeper } from '../workers/sweeper.js'

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
  /** Abandons provider calls in flight, stops the pollers and accepting requests, then the emulator. */
  stop: () => Promise<void>
}

/**
 * Starts paylith locally: the embedded emulator when no AWS endpoint is configured, the table
 * and queues from the shared definitions, the HTTP server, and one poller per event source
 * that feeds the same dispatch as lambda.ts.
 */
export async function startLocalRuntime (baseConfig: Config, logger: Logger, { metricsDestination }: { metricsDestination?: MetricsDestination } = {}): Promise<LocalRuntime> {
  const { config: startedConfig, emulators, dataDir } = await startEmulators(baseConfig, logger)
  let config = startedConfig
  const pollers: Poller[] = []
  let app: App | undefined
  let sandbox: SandboxProvider | undefined
  let faults: FaultsWatcher | undefined
  // Aborted first on stop: provider retries in flight give up at once and leave their messages
  // un-deleted (they return to the queue after its visibility timeout; nothing is lost).
  const stopping = new AbortController()
  // Stop taking work first, let the sandbox's webhooks land, then close the server and the emulator.
  const stop = async (): Promise<void> => {
    stopping.abort()
    faults?.stop()
    await Promise.all(pollers.map((poller) => poller.stop()))
    await sandbox?.drain()
    await app?.close()
    await Promise.all(emulators.map((emulator) => emulator.stop()))
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
    // Filled in once the pollers start, which is after the service is built.
    const readiness: Array<() => ReadinessCheck> = []
    const service = createService(config, { logger, metricsDestination, stopSignal: stopping.signal, ...clients, ...(sandbox !== undefined && { provider: sandbox }), readiness: () => readiness.map((check) => check()) })
    const { deps, workers, handler: dispatch } = service
    faults = startFaults(config, deps, sandbox)
    app = service.app
    const invocationTimeoutMs = config.visibilityTimeoutSeconds * 1000
    // The kept table outlived the last run's in-memory queue: re-send what it left unsettled.
    if (dataDir !== undefined && baseConfig.aws.endpoint === undefined) await recoverUnsettled(deps, config, logger, invocationTimeoutMs)
    serveDocsAssets(app)
    serveLocalServerUrl(app, () => url)
    url = await app.listen({ port: config.port, host: config.host })

    const queues: QueueRef[] = [resources.queues.work, resources.queues.deadLetter, resources.settlements.queue]
    // Like Lambda, several batches of one queue in flight at once (it starts with five).
    const sqsPollers = queues.filter((q) => workers.queues[q.name] !== undefined).flatMap((queue) => Array.from({ length: config.pollers.sqsPollers }, () => queue))
    for (const queue of sqsPollers) {
      pollers.push(startSqsPoller({
        sqs: clients.sqs,
        queue,
        region: config.aws.region,
        batchSize: config.pollers.sqsBatchSize,
        waitTimeSeconds: config.pollers.sqsWaitTimeSeconds,
        invocationTimeoutMs,
        dispatch,
        logger,
        visibilityTimeoutSeconds: () => faults?.current().sqs?.visibilityTimeoutSeconds
      }))
    }
    if (workers.streams[config.tableName] !== undefined) {
      // Lambda's event source mapping keeps its place across function restarts; locally the data
      // folder does: the embedded DynamoDB Local's, or the one LOCAL_DATA_DIR names for a stream
      // an external emulator keeps (a restart against it then resumes instead of replaying).
      const positionDir = dataDir ?? (config.local.dataDirSet ? config.local.dataDir : undefined)
      const position = positionDir === undefined ? undefined : fileStreamPosition(join(positionDir, STREAM_POSITION_FILE), resources.streamArn)
      const streamPoller = startStreamPoller({ ...streamPollerOptions(bootstrapped, { invocationTimeoutMs, dispatch, logger }), position })
      pollers.push(streamPoller)
      readiness.push(() => streamPollerCheck(streamPoller, streamPollerStaleAfterMs(config.pollers.streamPollIntervalMs)))
    }
    // EventBridge's schedule, locally: the same scheduled event, on a timer.
    pollers.push(startPolling(async () => {
      await invokeLocally(dispatch, scheduledExampleEvent({ region: config.aws.region }), 'paylith-local', invocationTimeoutMs)
      return false
    }, { idleMs: config.sweeper.localIntervalSeconds * 1000, onError: (error) => logger.error({ err: error }, 'the scheduled sweep failed') }))
    return { app, url, config, resources, deps, sandbox, stop }
  } catch (error) {
    await stop()
    throw error
  }
}

/**
 * With LOCAL_FAULTS_FILE, follows it: DynamoDB calls of the service fail at its throttling rate
 * (counted as `FaultInjected`), and the sandbox is down or slow as it says. The SQS pollers read
 * its visibility timeout themselves. Only here: the Lambda bundle never contains any of it.
 */
function startFaults (config: Config, { dynamodb, logger, metrics }: Pick<Deps, 'dynamodb' | 'logger' | 'metrics'>, sandbox: SandboxProvider | undefined): FaultsWatcher | undefined {
  const path = config.local.faultsFile
  if (path === undefined) return undefined
  const watcher = watchFaults(path, {
    logger,
    onChange: (faults) => {
      sandbox?.setDown(faults.provider?.down ?? false)
      sandbox?.setLatency(faults.provider?.latencyMs)
    }
  })
  injectThrottling(dynamodb, {
    rate: () => watcher.current().dynamodb?.throttleRate ?? 0,
    onInjected: (name) => { metrics.count(MetricName.faultInjected, { fault: name }) }
  })
  return watcher
}

/** The file, in the data folder, that keeps the stream poller's position across restarts. */
const STREAM_POSITION_FILE = 'stream-position.json'

/** The emulators this run started, the configuration pointed at them, and where data is kept. */
interface StartedEmulators {
  config: Config
  emulators: LocalEmulator[]
  /** The folder DynamoDB Local keeps its data in; undefined when nothing is kept. */
  dataDir: string | undefined
}

/**
 * Starts what no endpoint is configured for (an endpoint set by the user always wins): moto
 * for SQS and Secrets Manager, and DynamoDB Local with its data kept in `LOCAL_DATA_DIR`
 * (emptied first with `LOCAL_FRESH`), or, when asked with `LOCAL_DYNAMODB=moto`, moto.
 */
async function startEmulators (config: Config, logger: Logger): Promise<StartedEmulators> {
  const { endpoint, dynamodbEndpoint } = config.aws
  const wantsDynamoDbLocal = endpoint === undefined && dynamodbEndpoint === undefined && config.local.dynamodb === 'dynamodb-local'
  const dataDir = wantsDynamoDbLocal ? config.local.dataDir : undefined
  if (dataDir !== undefined && config.local.fresh) {
    rmSync(dataDir, { recursive: true, force: true })
    logger.info({ dataDir }, 'fresh start: deleted the kept local data')
  }
  const started = await Promise.allSettled([
    endpoint === undefined ? startLocalEmulator({ command: config.localEmulatorCommand }) : undefined,
    dataDir === undefined ? undefined : startDynamoDbLocal({ dataDir: join(dataDir, 'dynamodb') })
  ])
  const emulators = started.flatMap((result) => result.status === 'fulfilled' && result.value !== undefined ? [result.value] : [])
  const failure = started.find((result) => result.status === 'rejected')
  if (failure !== undefined) {
    await Promise.all(emulators.map((emulator) => emulator.stop()))
    throw failure.reason
  }
  const [moto, dynamodb] = started.map((result) => result.status === 'fulfilled' ? result.value : undefined)
  if (moto !== undefined) logger.info({ endpoint: moto.endpoint }, 'started the embedded local AWS emulator (moto_server)')
  if (dynamodb !== undefined) logger.info({ endpoint: dynamodb.endpoint, dataDir }, 'started DynamoDB Local; its data is kept across restarts (npm start -- --fresh starts empty)')
  if (moto !== undefined && endpoint === undefined && dynamodbEndpoint === undefined && dynamodb === undefined) {
    logger.warn('LOCAL_DYNAMODB=moto: DynamoDB runs on moto, which runs transactions without isolation, so concurrent requests with one Idempotency-Key may create several payments; nothing is kept across restarts')
  }
  return {
    config: { ...config, aws: { ...config.aws, endpoint: endpoint ?? moto?.endpoint, dynamodbEndpoint: dynamodbEndpoint ?? dynamodb?.endpoint } },
    emulators,
    dataDir
  }
}

/**
 * The sweeper's logic, once, at boot, for every unsettled payment and pending refund (not only
 * the stale ones) it has not given up on: their charge and refund commands were lost with the
 * last run's in-memory queue. Charging and refunding are idempotent, so one sent twice costs
 * nothing; these replace lost messages, so they do not count against the re-sends. Bounded by
 * the sweep's limits and one invocation's time each; a failure is logged and left to the
 * scheduled sweeps.
 */
async function recoverUnsettled (deps: Deps, config: Config, logger: Logger, timeoutMs: number): Promise<void> {
  const options = { staleAfterMs: 0, maxPerRun: config.sweeper.maxPerRun, maxResends: config.sweeper.maxResends, recovery: true }
  const sweeps = [
    { sweep: createSweeper(deps, options), what: 'charge commands re-sent for payments left unsettled by the last run' },
    { sweep: createRefundSweeper(deps, options), what: 'refund commands re-sent for refunds left pending by the last run' }
  ]
  for (const { sweep, what } of sweeps) {
    try {
      const { resent } = await invokeLocally<{ resent: number }>(async (event, context) => sweep(event as ScheduledEvent, context), scheduledExampleEvent({ region: config.aws.region }), 'paylith-local', timeoutMs)
      if (resent > 0) logger.info({ resent }, `restart: ${what}`)
    } catch (error) {
      logger.error({ err: error }, `restart: re-sending what the last run left unsettled failed (${what}); the scheduled sweep will retry`)
    }
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
