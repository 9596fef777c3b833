import t from 'tap'
import { DependencyUnavailableError } from '../../src/domain/errors.js'
import { RefreshOutcome, cachedSecret } from '../../src/lib/cached-secret.js'

// The cache's rules on their own, over a fetch function it is given (the Secrets Manager reads
// themselves are tested through the routes, against moto: test/http/auth.test.ts).

/** A secret store as a function: its text, whether it answers, and how often it was read. */
function store (text: string) {
  const state = { text, down: false, reads: 0, failures: [] as Array<{ cached: boolean }> }
  let now = 0
  const cache = cachedSecret({
    name: 'test values',
    fetch: async () => {
      state.reads++
      if (state.down) throw new Error('Secrets Manager is down')
      return state.text
    },
    parse: (value) => {
      if (value === 'malformed') throw new Error('entry 1 is malformed (not shown)')
      return value.split(',')
    },
    clock: () => new Date(now),
    ttlMs: 300_000,
    minRefreshIntervalMs: 60_000,
    onFailure: (_error, context) => { state.failures.push(context) }
  })
  return { state, cache, advance: (ms: number) => { now += ms } }
}

t.test('the value is read once and served from the cache while fresh, then read again', async (t) => {
  const { state, cache, advance } = store('a,b')
  t.same(await cache.current(), ['a', 'b'])
  advance(299_000)
  t.same(await cache.current(), ['a', 'b'])
  t.equal(state.reads, 1, 'within the TTL, no read')
  state.text = 'c'
  advance(1_000)
  t.same(await cache.current(), ['c'], 'past the TTL, read again')
  t.equal(state.reads, 2)
})

t.test('concurrent first reads share one read', async (t) => {
  const { state, cache } = store('a')
  await Promise.all(Array.from({ length: 20 }, () => cache.current()))
  t.equal(state.reads, 1)
})

t.test('a refresh reads again at most once a minute, however many ask', async (t) => {
  const { state, cache, advance } = store('a')
  await cache.current()
  state.text = 'a,b'
  const burst = await Promise.all(Array.from({ length: 50 }, () => cache.refresh()))
  t.equal(state.reads, 1, 'read at start; within the minute, none of the 50 reads again')
  t.ok(burst.every((result) => result.outcome === RefreshOutcome.recent))
  advance(60_000)
  const results = await Promise.all(Array.from({ length: 50 }, () => cache.refresh()))
  t.equal(state.reads, 2, 'a minute later: one read for the whole burst')
  t.same(results[0], { outcome: RefreshOutcome.fetched, value: ['a', 'b'], previous: ['a'] })
})

t.test('when the store fails, the last good value stays in use and the failure is told', async (t) => {
  const { state, cache, advance } = store('a')
  await cache.current()
  state.down = true
  advance(300_000)
  t.same(await cache.current(), ['a'], 'the TTL ran out: the read fails, the old value is served')
  t.same(state.failures, [{ cached: true }])
  t.same(await cache.refresh(), { outcome: RefreshOutcome.unavailable, value: ['a'], previous: ['a'] }, 'a refresh within the minute says the value may be out of date')
  await cache.current()
  t.equal(state.reads, 2, 'and nothing reads again within the minute of the failed read')
  advance(60_000)
  state.down = false
  state.text = 'b'
  t.same(await cache.current(), ['b'], 'a minute later the store is read again')
})

t.test('with nothing ever read, a failed read is DependencyUnavailableError, and the next try waits a minute', async (t) => {
  const { state, cache, advance } = store('a')
  state.down = true
  const error = await cache.current().catch((e: unknown) => e)
  t.type(error, DependencyUnavailableError)
  t.match(error, { message: /the test values could not be read from Secrets Manager/, data: { dependency: 'secrets-manager' } })
  t.same(state.failures, [{ cached: false }])
  await t.rejects(cache.current(), DependencyUnavailableError)
  t.same(await cache.refresh(), { outcome: RefreshOutcome.unavailable, value: undefined, previous: undefined })
  t.equal(state.reads, 1, 'one read in the minute')
  state.down = false
  advance(60_000)
  t.same(await cache.current(), ['a'])
})

t.test('text that does not parse is a failure like an outage: the last good value is kept', async (t) => {
  const { state, cache, advance } = store('a')
  await cache.current()
  state.text = 'malformed'
  advance(60_000)
  t.same(await cache.refresh(), { outcome: RefreshOutcome.unavailable, value: ['a'], previous: ['a'] })
  t.same(state.failures, [{ cached: true }])
})
