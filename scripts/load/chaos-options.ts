import { DEFAULT_LOAD_OPTIONS, LOAD_USAGE, LoadUsageError, parseDuration, parseLoadArgs, type LoadOptions } from './options.js'

/** Everything `npm run chaos` can be told: the load's options, and the faults'. */
export interface ChaosOptions {
  load: LoadOptions
  /** How long the provider outage lasts; 0 leaves it out. */
  outageMs: number
  /** The share (0..1) of DynamoDB calls throttled while throttling is injected. */
  throttleRate: number
  /** The provider's latency during the latency spike. */
  latencyMs: number
  /** The SQS pollers' visibility timeout during the duplicate-delivery window. */
  duplicateVisibilitySeconds: number
  /** Seeds the workload's and the storm's random choices (mix, amounts, customers, order), not the timing. */
  seed: number
}

/**
 * The chaos run's defaults: 90 s at a rate the serial outbox keeps up with on a small machine
 * (each payment is several stream records), with a 60 s provider outage (two thirds of the run),
 * and a drain long enough for the payments deferred by the open breaker.
 */
export const DEFAULT_CHAOS_LOAD: LoadOptions = { ...DEFAULT_LOAD_OPTIONS, rate: 20, durationMs: 90_000, drainMs: 240_000 }

/** The outage's length by default: two thirds of the load (60 s of the default 90 s). */
export function defaultOutageMs (durationMs: number): number {
  return Math.round((durationMs * 2) / 3)
}

const CHAOS_FLAGS = ['outage', 'throttle', 'latency', 'duplicate-visibility', 'seed'] as const

/** What `npm run chaos -- --help` prints. */
export const CHAOS_USAGE = `usage: npm run chaos -- [options]
The load of npm run load while faults are injected on a schedule scaled to --duration, then the
invariants over every payment in the table; exits 1 if any fails.
  --outage <d>           the provider outage's length (default two thirds of --duration: 60s of 90s; 0: none)
  --throttle <pct>       share of DynamoDB calls throttled while throttling is injected (default 10)
  --latency <d>          the provider's latency during the latency spike (default 1500ms)
  --duplicate-visibility <s>  the SQS pollers' visibility timeout, seconds, during the duplicate window (default 1)
  --seed <n>             seeds the workload's and the storm's random choices (default: a random one, printed)
and npm run load's options, with other defaults: --rate ${DEFAULT_CHAOS_LOAD.rate}, --duration ${DEFAULT_CHAOS_LOAD.durationMs / 1000}s, --drain ${DEFAULT_CHAOS_LOAD.drainMs / 1000}s:
${LOAD_USAGE.split('\n').slice(1).join('\n')}`

/**
 * Reads `npm run chaos`'s flags: its own, then the load's (with the chaos defaults).
 * @returns undefined when help was asked for
 * @throws LoadUsageError naming the flag that is wrong
 */
export function parseChaosArgs (args: readonly string[], random: () => number = Math.random): ChaosOptions | undefined {
  const own: Partial<Record<(typeof CHAOS_FLAGS)[number], string>> = {}
  const rest: string[] = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string
    const [flag = '', inline] = arg.startsWith('--') ? arg.slice(2).split(/=(.*)/s, 2) : ['']
    const name = CHAOS_FLAGS.find((known) => known === flag)
    if (name === undefined) {
      rest.push(arg)
      continue
    }
    const value = inline ?? args[++i]
    if (value === undefined) throw new LoadUsageError(`--${name} needs a value`)
    own[name] = value
  }
  if (rest.includes('--help') || rest.includes('-h')) return undefined
  const load = parseLoadArgs(rest)
  if (load === undefined) return undefined
  // The load's defaults where the command line said nothing, the chaos run's otherwise.
  const given = (flag: string): boolean => rest.some((arg) => arg === `--${flag}` || arg.startsWith(`--${flag}=`))
  if (!given('rate')) load.rate = DEFAULT_CHAOS_LOAD.rate
  if (!given('duration')) load.durationMs = DEFAULT_CHAOS_LOAD.durationMs
  if (!given('drain')) load.drainMs = DEFAULT_CHAOS_LOAD.drainMs
  return {
    load,
    outageMs: own.outage === undefined ? defaultOutageMs(load.durationMs) : parseDuration(own.outage),
    throttleRate: own.throttle === undefined ? 0.1 : percent('throttle', own.throttle),
    latencyMs: own.latency === undefined ? 1500 : parseDuration(own.latency),
    duplicateVisibilitySeconds: own['duplicate-visibility'] === undefined ? 1 : wholeNumber('duplicate-visibility', own['duplicate-visibility'], 0),
    seed: own.seed === undefined ? Math.floor(random() * 2 ** 32) : wholeNumber('seed', own.seed, 0)
  }
}

function percent (name: string, text: string): number {
  const value = Number(text.replace(/%$/, ''))
  if (text === '' || !Number.isFinite(value) || value < 0 || value > 100) throw new LoadUsageError(`--${name} is a percentage from 0 to 100, found ${JSON.stringify(text)}`)
  return value / 100
}

function wholeNumber (name: string, text: string, minimum: number): number {
  const value = Number(text)
  if (text === '' || !Number.isInteger(value) || value < minimum) throw new LoadUsageError(`--${name} is a whole number of ${minimum} or more, found ${JSON.stringify(text)}`)
  return value
}

/** A small seeded generator of numbers in [0, 1) (mulberry32): the same seed, the same choices. */
export function seededRandom (seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6D2B79F5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
