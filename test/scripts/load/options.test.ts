import t from 'tap'
import { DEFAULT_LOAD_OPTIONS, LoadUsageError, parseDuration, parseLoadArgs, parseMix } from '../../../scripts/load/options.js'

t.test('durations are read in ms, s (the default unit) and m', async (t) => {
  t.equal(parseDuration('500ms'), 500)
  t.equal(parseDuration('30s'), 30_000)
  t.equal(parseDuration('1.5'), 1_500)
  t.equal(parseDuration('2m'), 120_000)
  t.throws(() => parseDuration('soon'), LoadUsageError)
})

t.test('a mix gives each named kind its weight and the others 0', async (t) => {
  t.same(parseMix('creates=60,reads=20,lists=10,webhooks=10'), { creates: 60, reads: 20, lists: 10, webhooks: 10 })
  t.same(parseMix('creates=1'), { creates: 1, reads: 0, lists: 0, webhooks: 0 })
  t.throws(() => parseMix('refunds=5'), { name: 'LoadUsageError', message: /unknown request kind "refunds"/ })
  t.throws(() => parseMix('creates=-1'), { message: /weight of 0 or more/ })
  t.throws(() => parseMix('creates=0'), { message: /at least one kind/ })
})

t.test('no flags is the defaults; flags override them one by one', async (t) => {
  t.same(parseLoadArgs([]), DEFAULT_LOAD_OPTIONS)
  const options = parseLoadArgs(['--rate', '150', '--duration', '30s', '--mix', 'creates=100', '--unhealthy', '20%', '--endings', '51,62', '--repeats', '0',
    '--customers', '5', '--max-in-flight', '64', '--timeout', '2s', '--drain', '1m', '--dynamodb', 'moto', '--json', 'out.json'])
  t.match(options, {
    rate: 150,
    durationMs: 30_000,
    mix: { creates: 100, reads: 0 },
    unhealthyShare: 0.2,
    unhealthyEndings: [51, 62],
    repeatShare: 0,
    customers: 5,
    maxInFlight: 64,
    requestTimeoutMs: 2_000,
    drainMs: 60_000,
    dynamodb: 'moto',
    jsonPath: 'out.json'
  })
})

t.test('--help asks for the usage', async (t) => {
  t.equal(parseLoadArgs(['--help']), undefined)
})

t.test('a wrong flag is a usage error naming it', async (t) => {
  t.throws(() => parseLoadArgs(['--rate', '0']), { name: 'LoadUsageError', message: /--rate/ })
  t.throws(() => parseLoadArgs(['--unhealthy', '120']), { message: /--unhealthy is a percentage/ })
  t.throws(() => parseLoadArgs(['--endings', '100']), { message: /--endings/ })
  t.throws(() => parseLoadArgs(['--customers', '1.5']), { message: /--customers/ })
  t.throws(() => parseLoadArgs(['--dynamodb', 'localstack']), { message: /--dynamodb/ })
  t.throws(() => parseLoadArgs(['--speed', '3']), { name: 'LoadUsageError', message: /--speed/ })
})
