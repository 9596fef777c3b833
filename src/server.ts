import { EmulatorUnavailableError } from './local/emulator.js'
import { randomBytes } from 'node:crypto'
import { SCOPES, apiKeyFromHash, hashApiKey } from './config/api-keys.js'
import { ConfigError, loadConfig, type Config } from './config/load.js'
import { isPortInUse, portInUseMessage, startupBanner } from './local/banner.js'
import { watchParent } from './local/parent-watch.js'
import { startLocalRuntime } from './local/runtime.js'
import { localOutput } from './local/terminal.js'
import { createLogger } from './observability/logger.js'

// The local server: `npm start`. Same app and workers as Lambda, fed by local pollers.

/**
 * Locally, with neither API_KEYS nor API_KEYS_SECRET_ARN, one key with every scope is generated for this run and printed
 * once, to the terminal only (never to the logs).
 */
function withGeneratedApiKey (config: Config, isTTY: boolean): { config: Config, key: string } {
  const key = `plk_local_${randomBytes(24).toString('base64url')}`
  const sha256 = hashApiKey(key)
  const notice = [
    `paylith: API_KEYS is not set, so this run generated an API key with every scope (${SCOPES.join(', ')}):`,
    `    ${key}`,
    '  It is not stored anywhere. To keep a key across restarts, set',
    `    API_KEYS=${sha256}=${SCOPES.join('|')}`,
    ''
  ].join('\n')
  // On a terminal the banner shows it once the server listens.
  if (!isTTY) process.stdout.write(notice)
  return { config: { ...config, apiKeys: [apiKeyFromHash(sha256, SCOPES)] }, key }
}

async function main (): Promise<void> {
  // Read before anything slow: a parent gone while the emulators start is noticed too.
  const parentPid = process.ppid
  let config: Config
  try {
    config = loadConfig()
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(`paylith: ${error.message}\n`)
    process.exit(1)
  }
  // `npm start -- --fresh`: the same as LOCAL_FRESH=true, starts with no kept data.
  if (process.argv.slice(2).includes('--fresh')) config = { ...config, local: { ...config.local, fresh: true } }
  // AWS credentials are irrelevant to the embedded emulator but the SDK insists on some.
  if (config.aws.endpoint === undefined) {
    process.env.AWS_ACCESS_KEY_ID ??= 'local'
    process.env.AWS_SECRET_ACCESS_KEY ??= 'local'
  }

  // The AWS SDK warns on Node 20 that its releases after January 2027 will need Node 22 (what
  // Lambda runs here); the README says which Node versions are tested. Set it to false to see it.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
  const isTTY = process.stdout.isTTY === true
  let apiKey: string | undefined
  if (config.apiKeys.length === 0 && config.apiKeysSecret.arn === undefined) ({ config, key: apiKey } = withGeneratedApiKey(config, isTTY))
  const webhookSecretGenerated = config.webhooks.secretsArn === undefined && config.webhooks.secrets.standard.length === 0

  // Short lines on a terminal; JSON lines otherwise (pipes, CI, containers).
  const output = await localOutput({ isTTY, logMetrics: config.logMetrics })
  const logger = createLogger(config, output.logs)
  let runtime
  try {
    runtime = await startLocalRuntime(config, logger, { metricsDestination: output.metrics })
  } catch (error) {
    if (error instanceof EmulatorUnavailableError) {
      process.stderr.write(`paylith: ${error.message}\n`)
      process.exit(1)
    }
    if (isPortInUse(error)) {
      process.stderr.write(`paylith: ${portInUseMessage(config.host, config.port)}\n`)
      process.exit(1)
    }
    logger.fatal({ err: error }, 'paylith could not start')
    process.exit(1)
  }
  logger.info({ url: runtime.url, endpoint: runtime.config.aws.endpoint, table: runtime.config.tableName }, `paylith listening on ${runtime.url}`)
  if (isTTY) {
    const { aws, webhooks } = runtime.config
    process.stdout.write(startupBanner({
      url: runtime.url,
      apiKey,
      webhookSecret: webhookSecretGenerated ? webhooks.secrets.standard[0] : undefined,
      endpoints: { AWS: aws.endpoint, DynamoDB: aws.dynamodbEndpoint }
    }).join('\n'))
  }

  let stopping = false
  const shutdown = (signal: NodeJS.Signals | 'parent-exited'): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now')
      process.exit(1)
    }
    stopping = true
    logger.info({ signal }, signal === 'parent-exited' ? 'the process that started this one exited (npm start does not pass SIGTERM on); shutting down' : 'shutting down')
    const timer = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown took too long; exiting')
      process.exit(1)
    }, config.shutdownTimeoutMs)
    timer.unref()
    runtime.stop().then(
      () => { logger.info('stopped'); process.exit(0) },
      (error: unknown) => { logger.error({ err: error }, 'shutdown failed'); process.exit(1) }
    )
  }
  process.on('SIGINT', shutdown)
  process.on('SIGTERM', shutdown)
  watchParent(() => { if (!stopping) shutdown('parent-exited') }, { initialPid: parentPid })
}

await main()
