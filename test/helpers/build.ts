import { once } from 'node:events'
import { createServer, type AddressInfo } from 'node:net'
import type { Logger } from 'pino'
import { buildApp, type App } from '../../src/app.js'
import { ensureResources, type LocalResources } from '../../src/aws/bootstrap.js'
import { createAwsClients } from '../../src/aws/clients.js'
import { loadConfig, type Config } from '../../src/config.js'
import { createDeps, type Deps } from '../../src/deps.js'
import { localAwsEndpoint, uniqueNames } from './aws.js'

/** What a test gets: the production app with real deps on the emulator, and its resources. */
export interface Built {
  app: App
  deps: Deps
  config: Config
  resources: LocalResources
}

/** The slice of a tap test `build` uses. */
export interface Teardownable {
  name: string
  teardown: (fn: () => unknown) => void
}

/** Options to vary the environment or the app for one test. */
export interface BuildOptions {
  env?: Record<string, string>
  logger?: Logger
  /** Adds test-only routes before the app is ready. */
  configure?: (app: App) => void
  /** False to skip creating the table and queues (for an endpoint that is meant to be down). */
  bootstrap?: boolean
}

/** Builds the config a test would get, with unique resource names on the local emulator. */
export async function testConfig (label: string, env: Record<string, string> = {}): Promise<Config> {
  const endpoint = await localAwsEndpoint()
  const names = uniqueNames(label)
  return loadConfig({
    ...process.env,
    AWS_ENDPOINT_URL: endpoint,
    TABLE_NAME: names.tableName,
    WORK_QUEUE_NAME: names.workQueueName,
    DEAD_LETTER_QUEUE_NAME: names.deadLetterQueueName,
    LOG_LEVEL: 'silent',
    ...env
  })
}

/**
 * Builds the app exactly as production does (buildApp + createDeps), with real clients on the
 * local emulator and this test's own table and queues; closes it when the test ends.
 */
export async function build (t: Teardownable, options: BuildOptions = {}): Promise<Built> {
  const baseConfig = await testConfig(t.name, options.env)
  const clients = createAwsClients(baseConfig)
  const resources = options.bootstrap === false ? unbootstrapped(baseConfig) : await ensureResources(clients, baseConfig)
  const config: Config = {
    ...baseConfig,
    queues: {
      work: { name: resources.queues.work.name, url: resources.queues.work.url },
      deadLetter: { name: resources.queues.deadLetter.name, url: resources.queues.deadLetter.url }
    }
  }
  const deps = createDeps(config, { ...clients, ...(options.logger !== undefined && { logger: options.logger }) })
  const app = buildApp({ deps })
  options.configure?.(app)
  t.teardown(() => app.close())
  return { app, deps, config, resources }
}

function unbootstrapped (config: Config): LocalResources {
  const queue = (name: string) => ({ name, url: `${config.aws.endpoint ?? ''}/000000000000/${name}`, arn: `arn:aws:sqs:${config.aws.region}:000000000000:${name}` })
  return {
    tableName: config.tableName,
    streamArn: '',
    queues: { work: queue(config.queues.work.name), deadLetter: queue(config.queues.deadLetter.name) }
  }
}

/** An http endpoint on loopback that nothing listens on: a dependency that is down. */
export async function closedEndpoint (): Promise<string> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  server.close()
  await once(server, 'close')
  return `http://127.0.0.1:${port}`
}
