import type { Logger } from 'pino'
import { createAwsClients, type AwsClients } from './aws/clients.js'
import type { Config } from './config.js'
import { createIdGenerator, type IdGenerator } from './domain/ids.js'
import { createLogger } from './logger.js'
import { createPaymentStore, type PaymentStore } from './store/payments.js'

/** Everything the app and the workers depend on, built once per process (cold start). */
export interface Deps extends AwsClients {
  config: Config
  logger: Logger
  /** The current time; injected so tests and the status machine never read the wall clock directly. */
  clock: () => Date
  /** Makes new payment ids. */
  ids: IdGenerator
  payments: PaymentStore
}

/** Optional replacements for the parts of Deps tests or the local server provide themselves. */
export type DepsOverrides = Partial<Omit<Deps, 'config' | 'payments'>>

/** Builds the dependencies from configuration. Makes no network calls. */
export function createDeps (config: Config, overrides: DepsOverrides = {}): Deps {
  const clients = overrides.dynamodb !== undefined && overrides.sqs !== undefined
    ? { dynamodb: overrides.dynamodb, sqs: overrides.sqs }
    : createAwsClients(config)
  const dynamodb = overrides.dynamodb ?? clients.dynamodb
  const clock = overrides.clock ?? (() => new Date())
  return {
    config,
    logger: overrides.logger ?? createLogger(config),
    clock,
    ids: overrides.ids ?? createIdGenerator(),
    dynamodb,
    sqs: overrides.sqs ?? clients.sqs,
    payments: createPaymentStore({ dynamodb, tableName: config.tableName, clock, idempotencyTtlSeconds: config.idempotencyTtlSeconds })
  }
}
