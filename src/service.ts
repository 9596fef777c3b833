import { buildApp, type App } from './app.js'
import type { Config } from './config/load.js'
import { createDeps, type Deps, type DepsOverrides } from './deps.js'
import { createLambdaHandler, type LambdaHandler } from './lambda/handler.js'
import { createWorkers } from './workers/index.js'
import type { WorkerRegistry } from './workers/types.js'

/** paylith assembled: the same parts for Lambda, the local server, the tests and the benchmarks. */
export interface Service {
  config: Config
  deps: Deps
  /** The Fastify app; not ready yet (the caller calls `ready()` or `listen()`). */
  app: App
  workers: WorkerRegistry
  /** The function Lambda invokes with any event; the local pollers invoke it too. */
  handler: LambdaHandler
}

/**
 * The one startup sequence: deps from the configuration, the app, the workers, and the Lambda
 * handler that dispatches to them. Makes no network calls; the queue URLs must be in `config`
 * (from the environment in Lambda, from the local bootstrap elsewhere).
 */
export function createService (config: Config, overrides: DepsOverrides = {}): Service {
  const deps = createDeps(config, overrides)
  const app = buildApp({ deps })
  const workers = createWorkers(deps)
  return { config, deps, app, workers, handler: createLambdaHandler({ app, workers, metrics: deps.metrics }) }
}
