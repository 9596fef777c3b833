import { parseArgs } from 'node:util'

/** The kinds of request the workload mixes. */
export const RequestKind = {
  creates: 'creates',
  reads: 'reads',
  lists: 'lists',
  webhooks: 'webhooks'
} as const

/** One kind of request. */
export type RequestKind = (typeof RequestKind)[keyof typeof RequestKind]

/** Each kind's share of the requests, as weights (they need not add up to 100). */
export type Mix = Readonly<Record<RequestKind, number>>

/** What DynamoDB runs on during a load run. */
export const LoadDynamoDb = {
  dynamodbLocal: 'dynamodb-local',
  moto: 'moto'
} as const

/** One DynamoDB emulator. */
export type LoadDynamoDb = (typeof LoadDynamoDb)[keyof typeof LoadDynamoDb]

/** Everything `npm run load` can be told. */
export interface LoadOptions {
  /** Requests started per second. */
  rate: number
  durationMs: number
  mix: Mix
  /** The share of creates (0..1) with a sandbox decline or transient amount instead of a healthy one. */
  unhealthyShare: number
  /** The sandbox endings (an amount's last two digits) unhealthy creates use. */
  unhealthyEndings: readonly number[]
  /** The share of creates (0..1) that resend an earlier create's key and body, as a client retrying after a timeout. */
  repeatShare: number
  /** How many customers the payments are spread over. */
  customers: number
  /** Requests running at once, at most; starts due beyond it are shed. */
  maxInFlight: number
  /** One request's time limit. */
  requestTimeoutMs: number
  /** How long to wait after the load for the payments to settle. */
  drainMs: number
  dynamodb: LoadDynamoDb
  /** Where to write the report as JSON, if anywhere. */
  jsonPath: string | undefined
  /** Where to write the app's log lines (every run of it) as JSON lines. */
  appLogPath: string | undefined
}

/** The defaults: a moderate mixed load, mostly healthy payments. */
export const DEFAULT_LOAD_OPTIONS: LoadOptions = {
  rate: 50,
  durationMs: 20_000,
  mix: { creates: 60, reads: 20, lists: 10, webhooks: 10 },
  unhealthyShare: 0.1,
  // 62 (always transient) and 71 (30 s) only end through the dead-letter queue, minutes later.
  unhealthyEndings: [51, 52, 61],
  repeatShare: 0.05,
  customers: 50,
  maxInFlight: 256,
  requestTimeoutMs: 10_000,
  drainMs: 120_000,
  dynamodb: LoadDynamoDb.dynamodbLocal,
  jsonPath: undefined,
  appLogPath: undefined
}

/** A command line that cannot be run; its message says what is wrong. */
export class LoadUsageError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'LoadUsageError'
  }
}

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000 }

/** `30s`, `500ms`, `2m` or a bare number of seconds, in ms. */
export function parseDuration (text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim())
  if (match === null) throw new LoadUsageError(`a duration such as 30s, 500ms or 2m was expected, found ${JSON.stringify(text)}`)
  return Math.round(Number(match[1]) * (UNITS[match[2] ?? 's'] ?? 1000))
}

/** `creates=60,reads=20,lists=10,webhooks=10`: kinds left out get 0; at least one must be above 0. */
export function parseMix (text: string): Mix {
  const mix: Record<RequestKind, number> = { creates: 0, reads: 0, lists: 0, webhooks: 0 }
  for (const entry of text.split(',').map((part) => part.trim()).filter((part) => part !== '')) {
    const [kind = '', weight = ''] = entry.split('=')
    if (!(kind in mix)) throw new LoadUsageError(`unknown request kind ${JSON.stringify(kind)} in --mix (expected ${Object.keys(RequestKind).join(', ')})`)
    const value = Number(weight)
    if (weight === '' || !Number.isFinite(value) || value < 0) throw new LoadUsageError(`--mix ${kind} needs a weight of 0 or more, found ${JSON.stringify(weight)}`)
    mix[kind as RequestKind] = value
  }
  if (Object.values(mix).every((value) => value === 0)) throw new LoadUsageError('--mix needs at least one kind with a weight above 0')
  return mix
}

/** A percentage flag (`10` or `10%`) as a share from 0 to 1. */
function parseShare (name: string, text: string): number {
  const value = Number(text.replace(/%$/, ''))
  if (!Number.isFinite(value) || value < 0 || value > 100) throw new LoadUsageError(`--${name} is a percentage from 0 to 100, found ${JSON.stringify(text)}`)
  return value / 100
}

function parsePositiveInteger (name: string, text: string): number {
  const value = Number(text)
  if (!Number.isInteger(value) || value < 1) throw new LoadUsageError(`--${name} is a whole number above 0, found ${JSON.stringify(text)}`)
  return value
}

function parseEndings (text: string): number[] {
  const endings = text.split(',').map((part) => part.trim()).filter((part) => part !== '').map(Number)
  if (endings.length === 0 || endings.some((ending) => !Number.isInteger(ending) || ending < 1 || ending > 99)) {
    throw new LoadUsageError(`--endings is a comma-separated list of amount endings from 01 to 99, found ${JSON.stringify(text)}`)
  }
  return endings
}

/** What `npm run load -- --help` prints. */
export const LOAD_USAGE = `usage: npm run load -- [options]
  --rate <n>             requests started per second (default ${DEFAULT_LOAD_OPTIONS.rate})
  --duration <d>         how long to send, e.g. 30s, 2m (default ${DEFAULT_LOAD_OPTIONS.durationMs / 1000}s)
  --mix <k=w,...>        creates, reads, lists, webhooks weights (default creates=60,reads=20,lists=10,webhooks=10)
  --unhealthy <pct>      share of creates with a sandbox decline/transient amount (default ${DEFAULT_LOAD_OPTIONS.unhealthyShare * 100})
  --endings <list>       the amount endings those use (default ${DEFAULT_LOAD_OPTIONS.unhealthyEndings.join(',')}; see the sandbox's outcomes)
  --repeats <pct>        share of creates that resend an earlier key and body (default ${DEFAULT_LOAD_OPTIONS.repeatShare * 100})
  --customers <n>        customers the payments are spread over (default ${DEFAULT_LOAD_OPTIONS.customers})
  --max-in-flight <n>    requests running at once, at most; later starts are shed (default ${DEFAULT_LOAD_OPTIONS.maxInFlight})
  --timeout <d>          one request's time limit (default ${DEFAULT_LOAD_OPTIONS.requestTimeoutMs / 1000}s)
  --drain <d>            how long to wait afterwards for payments to settle (default ${DEFAULT_LOAD_OPTIONS.drainMs / 1000}s)
  --dynamodb <which>     dynamodb-local (default) or moto
  --json <file>          also write the report as JSON to <file>
  --app-log <file>       write the app's log lines (JSON, every run of it) to <file>
`

/**
 * Reads `npm run load`'s flags.
 * @returns undefined when help was asked for
 * @throws LoadUsageError naming the flag that is wrong
 */
export function parseLoadArgs (args: readonly string[]): LoadOptions | undefined {
  let values
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        rate: { type: 'string' },
        duration: { type: 'string' },
        mix: { type: 'string' },
        unhealthy: { type: 'string' },
        endings: { type: 'string' },
        repeats: { type: 'string' },
        customers: { type: 'string' },
        'max-in-flight': { type: 'string' },
        timeout: { type: 'string' },
        drain: { type: 'string' },
        dynamodb: { type: 'string' },
        json: { type: 'string' },
        'app-log': { type: 'string' },
        help: { type: 'boolean', short: 'h' }
      },
      strict: true,
      allowPositionals: false
    }))
  } catch (error) {
    throw new LoadUsageError((error as Error).message)
  }
  if (values.help === true) return undefined
  const options = { ...DEFAULT_LOAD_OPTIONS }
  if (values.rate !== undefined) {
    options.rate = Number(values.rate)
    if (!Number.isFinite(options.rate) || options.rate <= 0) throw new LoadUsageError(`--rate is a number of requests per second above 0, found ${JSON.stringify(values.rate)}`)
  }
  if (values.duration !== undefined) options.durationMs = parseDuration(values.duration)
  if (values.mix !== undefined) options.mix = parseMix(values.mix)
  if (values.unhealthy !== undefined) options.unhealthyShare = parseShare('unhealthy', values.unhealthy)
  if (values.endings !== undefined) options.unhealthyEndings = parseEndings(values.endings)
  if (values.repeats !== undefined) options.repeatShare = parseShare('repeats', values.repeats)
  if (values.customers !== undefined) options.customers = parsePositiveInteger('customers', values.customers)
  if (values['max-in-flight'] !== undefined) options.maxInFlight = parsePositiveInteger('max-in-flight', values['max-in-flight'])
  if (values.timeout !== undefined) options.requestTimeoutMs = parseDuration(values.timeout)
  if (values.drain !== undefined) options.drainMs = parseDuration(values.drain)
  if (values.dynamodb !== undefined) {
    if (values.dynamodb !== LoadDynamoDb.dynamodbLocal && values.dynamodb !== LoadDynamoDb.moto) throw new LoadUsageError(`--dynamodb is dynamodb-local or moto, found ${JSON.stringify(values.dynamodb)}`)
    options.dynamodb = values.dynamodb
  }
  options.jsonPath = values.json
  options.appLogPath = values['app-log']
  return options
}
