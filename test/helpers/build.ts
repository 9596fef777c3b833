import { once } from 'node:events'
import { createServer, type AddressInfo } from 'node:net'
import type { Logger } from 'pino'
import type { App } from '../../src/app.js'
import { bootstrapLocal, type LocalResources } from '../../src/local/bootstrap.js'
import { createAwsClients, type AwsClients } from '../../src/local/clients.js'
import { loadConfig, type Config } from '../../src/config/load.js'
import type { Deps, DepsOverrides } from '../../src/deps.js'
import type { LambdaHandler } from '../../src/lambda/handler.js'
import { resilientChargeFor, type ResilientCharge } from '../../src/providers/resilient.js'
import { createService } from '../../src/service.js'
import type { WorkerRegistry } from '../../src/workers/types.js'
import { hashApiKey } from '../../src/config/api-keys.js'
import { localAwsEndpoint, uniqueNames } from './aws.js'

/** What a test gets: the production service (app, workers, handler) with real deps on the emulator, and its resources. */
export interface Built {
  app: App
  deps: Deps
  config: Config
  workers: WorkerRegistry
  handler: LambdaHandler
  resources: LocalResources
  /** The clients the service was given (`deps.sqs` gives this SQS client on first use): a test receives or injects faults through them. */
  clients: AwsClients
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
  /** Replacements for parts of the deps (a clock to move time, an id generator). */
  deps?: DepsOverrides
}

/** API keys every test app accepts, one per scope set, as a client would send them. */
export const TEST_KEYS = {
  all: 'plk_test_all_scopes',
  read: 'plk_test_read_only',
  write: 'plk_test_write_only',
  admin: 'plk_test_admin_only'
} as const

const TEST_KEY_SCOPES: Record<keyof typeof TEST_KEYS, string> = {
  all: 'payments:read|payments:write|admin',
  read: 'payments:read',
  write: 'payments:write',
  admin: 'admin'
}

/** The API_KEYS value for TEST_KEYS. */
export const TEST_API_KEYS = Object.entries(TEST_KEYS).map(([name, key]) => `${hashApiKey(key)}=${TEST_KEY_SCOPES[name as keyof typeof TEST_KEYS]}`).join(',')

/** An Authorization header for one of the test keys. */
export function bearer (name: keyof typeof TEST_KEYS = 'all'): { authorization: string } {
  return { authorization: `Bearer ${TEST_KEYS[name]}` }
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
    SETTLEMENT_BUCKET_NAME: names.settlementBucketName,
    SETTLEMENT_QUEUE_NAME: names.settlementQueueName,
    SETTLEMENT_DEAD_LETTER_QUEUE_NAME: names.settlementDeadLetterQueueName,
    LOG_LEVEL: 'silent',
    API_KEYS: TEST_API_KEYS,
    ...env
  })
}

/**
 * Builds the service exactly as production does (createService), with real clients on the
 * local emulator and this test's own table and queues; closes the app when the test ends.
 */
export async function build (t: Teardownable, options: BuildOptions = {}): Promise<Built> {
  const baseConfig = await testConfig(t.name, options.env)
  const { config, clients, resources } = options.bootstrap === false ? unbootstrapped(baseConfig) : await bootstrapLocal(baseConfig)
  // Metric documents go nowhere unless a test gives them a sink (options.deps.metricsDestination).
  const service = createService(config, { ...clients, metricsDestination: { write: () => true }, ...(options.logger !== undefined && { logger: options.logger }), ...options.deps })
  options.configure?.(service.app)
  t.teardown(() => service.app.close())
  return { ...service, resources, clients }
}

/** Names the resources without creating them, for an endpoint that is meant to be down. */
function unbootstrapped (config: Config): Awaited<ReturnType<typeof bootstrapLocal>> {
  const queue = (name: string) => ({ name, url: `${config.aws.endpoint ?? ''}/000000000000/${name}`, arn: `arn:aws:sqs:${config.aws.region}:000000000000:${name}` })
  const queues = { work: queue(config.queues.work.name), deadLetter: queue(config.queues.deadLetter.name) }
  return {
    config: { ...config, queues: { work: { name: queues.work.name, url: queues.work.url }, deadLetter: { name: queues.deadLetter.name, url: queues.deadLetter.url } } },
    clients: createAwsClients(config),
    resources: {
      tableName: config.tableName,
      streamArn: '',
      queues,
      settlements: { bucketName: config.settlements.bucketName, queue: queue(config.settlements.queueName), deadLetterQueue: queue(config.settlements.deadLetterQueueName) }
    }
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

/** Deps with the provider behind its breaker, as the workers build them on load: what the charge and refund handlers take. */
export function withBreaker<D extends Deps> (deps: D): D & { charge: ResilientCharge } {
  return { ...deps, charge: resilientChargeFor(deps) }
}
