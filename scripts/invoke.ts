import pino from 'pino'
import { ConfigError, loadConfig } from '../src/config/load.js'
import { InvokeUsageError, invokeOnce, parseInvokeArgs } from '../src/local/invoke.js'
import { createLogger } from '../src/observability/logger.js'

// `npm run invoke -- <event.json | apigw | sqs | stream | schedule>`: one Lambda event to the
// same handler as Lambda, like `sam local invoke`. The result is the only thing on stdout;
// logs and metric documents go to stderr. package.json runs it inside with-local-aws, which
// starts an emulator for the call unless AWS_ENDPOINT_URL points at one (a running npm start's).
try {
  const request = parseInvokeArgs(process.argv.slice(2))
  const config = loadConfig()
  const logger = createLogger(config, pino.destination(2))
  const { result } = await invokeOnce(config, request, { logger, metricsDestination: { write: (line) => process.stderr.write(line) } })
  process.stdout.write(`${JSON.stringify(result ?? null, null, 2)}\n`)
} catch (error) {
  if (!(error instanceof InvokeUsageError) && !(error instanceof ConfigError)) throw error
  process.stderr.write(`invoke: ${error.message}\n`)
  process.exitCode = 2
}
