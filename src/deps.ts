import type { Logger } from 'pino'
import { createAwsClients, type AwsClients } from './aws/clients.js'
import type { Config } from './config.js'
import { createLogger } from './logger.js'

/** Everything the app and the workers depend on, built once per process (cold start). */
export interface Deps extends AwsClients {
  config: Config
  logger: Logger
  /** The current time; injected so tests and the status machine never read the wall clock directly. */
  clock: () => Date
}

/** Optional replacements for the parts of Deps tests or the local server provide themselves. */
export type DepsOverrides = Partial<Omit<Deps, 'config'>>

/** Builds the dependencies from configuration. Makes no network calls. */
export function createDeps (config: Config, overrides: DepsOverrides = {}): Deps {
  const clients = overrides.dynamodb !== undefined && overrides.sqs !== undefined
    ? { dynamodb: overrides.dynamodb, sqs: overrides.sqs }
    : createAwsClients(config)
  return {
    config,
    logger: overrides.logger ?? createLogger(config),
    clock: overrides.clock ?? (() => new Date()),
    dynamodb: overrides.dynamodb ?? clients.dynamodb,
    sqs: overrides.sqs ?? clients.sqs
  }
}
