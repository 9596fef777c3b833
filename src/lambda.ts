import { loadConfig } from './config/load.js'
import { enableTracing } from './observability/tracing.js'
import { createService } from './service.js'

// Init, once per cold start. A ConfigError here fails the init with every problem listed.
const service = createService(loadConfig())
if (service.config.tracing) await enableTracing(service.deps, service.deps.logger)

/** The Lambda entrypoint for API Gateway, SQS, DynamoDB Stream, schedule and warm-up events. */
export const handler = service.handler

await service.app.ready()
