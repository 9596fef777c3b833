import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import type { Logger } from 'pino'
import { SCOPES, apiKeyFromHash, hashApiKey } from '../config/api-keys.js'
import type { Config } from '../config/load.js'
import type { MetricsDestination } from '../observability/metrics.js'
import { createService } from '../service.js'
import { bootstrapLocal } from './bootstrap.js'
import { EXAMPLE_EVENT_KINDS, exampleEvent, type ExampleEventKind } from './events.js'
import { invokeLocally } from './lambda-context.js'

/** How `npm run invoke` is called. */
export const INVOKE_USAGE = `usage: npm run invoke -- <event.json | ${EXAMPLE_EVENT_KINDS.join(' | ')}> [--method GET] [--path /health] [--header 'name: value']... [--body JSON] [--payment-id pay_...]`

/** Raised for arguments `npm run invoke` cannot use; its message is the one line to print. */
export class InvokeUsageError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'InvokeUsageError'
  }
}

/** What to invoke: a generated example of one kind, or an event file, with the example's details. */
export interface InvokeRequest {
  /** A kind of example, or undefined for a file. */
  kind: ExampleEventKind | undefined
  /** The event file, when not an example. */
  file: string | undefined
  method?: string
  path?: string
  headers: Record<string, string>
  body?: string
  paymentId?: string
}

/**
 * Reads `npm run invoke`'s arguments.
 * @throws InvokeUsageError with the line to print
 */
export function parseInvokeArgs (argv: string[]): InvokeRequest {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        method: { type: 'string' },
        path: { type: 'string' },
        header: { type: 'string', multiple: true },
        body: { type: 'string' },
        'payment-id': { type: 'string' }
      }
    })
  } catch (error) {
    throw new InvokeUsageError(`${(error as Error).message}\n${INVOKE_USAGE}`)
  }
  const [source, ...rest] = parsed.positionals
  if (source === undefined || rest.length > 0) throw new InvokeUsageError(INVOKE_USAGE)
  const headers: Record<string, string> = {}
  for (const header of parsed.values.header ?? []) {
    const separator = header.indexOf(':')
    if (separator <= 0) throw new InvokeUsageError(`--header ${header}: expected 'name: value'`)
    headers[header.slice(0, separator).trim().toLowerCase()] = header.slice(separator + 1).trim()
  }
  const kind = (EXAMPLE_EVENT_KINDS as readonly string[]).includes(source) ? source as ExampleEventKind : undefined
  const { method, path, body } = parsed.values
  return {
    kind,
    file: kind === undefined ? source : undefined,
    headers,
    ...(method !== undefined && { method: method.toUpperCase() }),
    ...(path !== undefined && { path }),
    ...(body !== undefined && { body }),
    ...(parsed.values['payment-id'] !== undefined && { paymentId: parsed.values['payment-id'] })
  }
}

/** What one invocation gives back: the event sent and the handler's result. */
export interface InvokeResult {
  event: unknown
  result: unknown
}

/**
 * Sends one Lambda event to the same handler as Lambda (createService), against the emulator
 * in `config` (its table and queues created if missing), and returns what the handler returned.
 * With neither API_KEYS nor API_KEYS_SECRET_ARN, a generated example API Gateway event carries a key generated for this call.
 * @throws InvokeUsageError when the event file cannot be read
 */
export async function invokeOnce (baseConfig: Config, request: InvokeRequest, { logger, metricsDestination }: { logger: Logger, metricsDestination: MetricsDestination }): Promise<InvokeResult> {
  let config = baseConfig
  const headers = { ...request.headers }
  if (config.apiKeys.length === 0 && config.apiKeysSecret.arn === undefined && request.kind === 'apigw' && headers.authorization === undefined) {
    const key = `plk_invoke_${randomBytes(24).toString('base64url')}`
    config = { ...config, apiKeys: [apiKeyFromHash(hashApiKey(key), SCOPES)] }
    headers.authorization = `Bearer ${key}`
  }
  const event = request.kind === undefined ? await readEvent(request.file ?? '') : undefined
  const bootstrapped = await bootstrapLocal(config)
  const service = createService(bootstrapped.config, { logger, metricsDestination, ...bootstrapped.clients })
  await service.app.ready()
  try {
    const sent = event ?? exampleEvent(request.kind as ExampleEventKind, { ...request, headers, region: config.aws.region, resources: bootstrapped.resources })
    const result = await invokeLocally(service.handler, sent, 'paylith-invoke', config.visibilityTimeoutSeconds * 1000)
    return { event: sent, result }
  } finally {
    await service.app.close()
  }
}

async function readEvent (file: string): Promise<unknown> {
  let text
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new InvokeUsageError(`${file} is neither a kind of example (${EXAMPLE_EVENT_KINDS.join(', ')}) nor a readable event file: ${(error as Error).message}`)
  }
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new InvokeUsageError(`${file} is not JSON: ${(error as Error).message}`)
  }
}
