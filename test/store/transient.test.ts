import t from 'tap'
import { DependencyThrottledError } from '../../src/domain/errors.js'
import { DEFAULT_TRANSIENT_RETRY, TransientReason, retryTransient, throttledError, type TransientEvent, type TransientRetry } from '../../src/store/transient.js'

const policy = (overrides: Partial<TransientRetry> = {}): TransientRetry & { events: TransientEvent[] } => {
  const events: TransientEvent[] = []
  return { ...DEFAULT_TRANSIENT_RETRY, baseMs: 1, capMs: 2, onTransient: (event) => { events.push(event) }, events, ...overrides }
}

/** A try that is refused `refusals` times, then answers 'done'. */
const refusedTimes = (refusals: number) => {
  let tries = 0
  const tryOnce = async () => {
    tries++
    return tries <= refusals ? { value: `refused ${tries}`, transient: TransientReason.throttling } : { value: 'done' }
  }
  return { tryOnce, tries: () => tries }
}

t.test('a try that is not refused answers at once', async (t) => {
  const retry = policy()
  const { tryOnce, tries } = refusedTimes(0)
  t.equal(await retryTransient('op', retry, tryOnce), 'done')
  t.equal(tries(), 1)
  t.same(retry.events, [])
})

t.test('refused tries are tried again, each told with whether another follows', async (t) => {
  const retry = policy()
  const { tryOnce, tries } = refusedTimes(2)
  t.equal(await retryTransient('op', retry, tryOnce), 'done')
  t.equal(tries(), 3)
  t.same(retry.events, [
    { operation: 'op', reason: 'ThrottlingError', attempt: 1, retrying: true },
    { operation: 'op', reason: 'ThrottlingError', attempt: 2, retrying: true }
  ])
})

t.test('when the tries run out, the last refused try\'s value is the answer', async (t) => {
  const retry = policy({ attempts: 3 })
  const { tryOnce, tries } = refusedTimes(Infinity)
  t.equal(await retryTransient('op', retry, tryOnce), 'refused 3')
  t.equal(tries(), 3)
  t.same(retry.events.map((event) => event.retrying), [true, true, false])
})

t.test('no try starts after the time budget, whatever the tries left', async (t) => {
  const retry = policy({ attempts: 100, baseMs: 40, capMs: 40, budgetMs: 100, random: () => 0.99 })
  const { tryOnce, tries } = refusedTimes(Infinity)
  const started = Date.now()
  await retryTransient('op', retry, tryOnce)
  t.ok(Date.now() - started < 1_000, 'stops near the budget, not after 100 tries')
  t.ok(tries() >= 2 && tries() <= 3, `waits of 39 ms: a fourth try would start after 100 ms (${tries()} tries)`)
  t.equal(retry.events.at(-1)?.retrying, false)
})

t.test('the waits are full jitter, growing to the cap', async (t) => {
  const waits: number[] = []
  const retry = policy({ attempts: 5, baseMs: 10, capMs: 30, budgetMs: 10_000, random: () => 0.5 })
  const { tryOnce } = refusedTimes(4)
  let last = Date.now()
  await retryTransient('op', retry, async () => {
    const now = Date.now()
    waits.push(now - last)
    last = now
    return tryOnce()
  })
  // 0.5 × min(30, 10 × 2ⁿ⁻¹): 5, 10, 15, 15 ms (a timer may fire up to a millisecond early).
  t.same(waits.slice(1).map((wait, i) => wait >= [5, 10, 15, 15][i]! - 1), [true, true, true, true])
})

t.test('the error a caller gives up with says how long to wait, and what was refused', async (t) => {
  const cause = new Error('cancelled')
  const error = throttledError({ operation: 'payments.create', reason: TransientReason.provisionedThroughputExceeded, policy: DEFAULT_TRANSIENT_RETRY, cause }, 'the new payment')
  t.ok(error instanceof DependencyThrottledError)
  t.equal(error.name, 'DependencyThrottledError')
  t.equal(error.code, 'PAYLITH_DEPENDENCY_THROTTLED')
  t.equal(error.cause, cause)
  t.same(error.data, { dependency: 'dynamodb', operation: 'payments.create', reason: 'ProvisionedThroughputExceeded', retryAfterSeconds: DEFAULT_TRANSIENT_RETRY.retryAfterSeconds })
  t.match(error.message, /the new payment .*ProvisionedThroughputExceeded.*nothing was written/)
})
