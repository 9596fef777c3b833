import { buildApp } from './app.js'
import { loadConfig } from './config.js'
import { createDeps } from './deps.js'
import { createLambdaHandler } from './handler.js'
import { enableTracing } from './tracing.js'
import { createWorkers } from './workers/index.js'

// Init, once per cold start. A ConfigError here fails the init with every problem listed.
const config = loadConfig()
const deps = createDeps(config)
if (config.tracing) await enableTracing(deps, deps.logger)
const app = buildApp({ deps })

/** The Lambda entrypoint for API Gateway, SQS, DynamoDB Stream and warm-up events. */
export const handler = createLambdaHandler({ app, workers: createWorkers(deps) })

await app.ready()
