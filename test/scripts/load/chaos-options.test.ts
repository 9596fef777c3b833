import t from 'tap'
import { CHAOS_USAGE, DEFAULT_CHAOS_LOAD, defaultOutageMs, parseChaosArgs, seededRandom } from '../../../scripts/load/chaos-options.js'
import { DEFAULT_LOAD_OPTIONS, LoadUsageError } from '../../../scripts/load/options.js'

t.test('by default a chaos run is 90 s at 20 req/s with a 60 s provider outage and a random seed', async (t) => {
  const options = parseChaosArgs([], () => 0.5)
  t.equal(options?.load.durationMs, 90_000)
  t.equal(options?.load.rate, 20)
  t.equal(options?.load.drainMs, DEFAULT_CHAOS_LOAD.drainMs)
  t.same(options?.load.mix, DEFAULT_LOAD_OPTIONS.mix, 'the load\'s mix')
  t.equal(options?.outageMs, 60_000)
  t.equal(options?.throttleRate, 0.1)
  t.equal(options?.latencyMs, 1500)
  t.equal(options?.duplicateVisibilitySeconds, 1)
  t.equal(options?.seed, 2 ** 31)
})

t.test('the chaos flags are read beside the load\'s, in both spellings, and the outage follows the duration unless given', async (t) => {
  const options = parseChaosArgs(['--duration', '30s', '--rate=7', '--throttle', '25%', '--latency=2s', '--duplicate-visibility', '2', '--seed', '42', '--json', 'out.json'])
  t.equal(options?.load.durationMs, 30_000)
  t.equal(options?.load.rate, 7)
  t.equal(options?.load.jsonPath, 'out.json')
  t.equal(options?.outageMs, defaultOutageMs(30_000))
  t.equal(options?.outageMs, 20_000)
  t.equal(options?.throttleRate, 0.25)
  t.equal(options?.latencyMs, 2000)
  t.equal(options?.duplicateVisibilitySeconds, 2)
  t.equal(options?.seed, 42)
  t.equal(parseChaosArgs(['--outage', '60s', '--duration', '20s'])?.outageMs, 60_000, 'an outage may outlast the load')
  t.equal(parseChaosArgs(['--outage=0'])?.outageMs, 0, 'or be left out')
})

t.test('help is undefined, and a wrong flag says which', async (t) => {
  t.equal(parseChaosArgs(['--help']), undefined)
  t.equal(parseChaosArgs(['-h']), undefined)
  t.match(CHAOS_USAGE, /--outage <d>/)
  t.match(CHAOS_USAGE, /--mix <k=w,\.\.\.>/, 'the load\'s flags are listed too')
  t.throws(() => parseChaosArgs(['--outage']), new LoadUsageError('--outage needs a value'))
  t.throws(() => parseChaosArgs(['--outage', 'soon']), LoadUsageError)
  t.throws(() => parseChaosArgs(['--throttle', '150']), /--throttle is a percentage/)
  t.throws(() => parseChaosArgs(['--throttle', '']), /--throttle is a percentage/)
  t.throws(() => parseChaosArgs(['--seed', '-1']), /--seed is a whole number/)
  t.throws(() => parseChaosArgs(['--duplicate-visibility', '0.5']), /--duplicate-visibility is a whole number/)
  t.throws(() => parseChaosArgs(['--nope']), LoadUsageError, 'unknown flags are the load parser\'s to refuse')
})

t.test('a seeded generator repeats its numbers for a seed, in [0, 1)', async (t) => {
  const numbers = (seed: number) => Array.from({ length: 1000 }, seededRandom(seed))
  t.same(numbers(7), numbers(7))
  t.not(numbers(7)[0], numbers(8)[0])
  t.ok(numbers(7).every((n) => n >= 0 && n < 1))
  const mean = numbers(123).reduce((sum, n) => sum + n, 0) / 1000
  t.ok(mean > 0.4 && mean < 0.6, `spread evenly (mean ${mean})`)
})
