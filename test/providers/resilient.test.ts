import { Writable } from 'node:stream'
import t from 'tap'
import { createLogger, withLogContext } from '../../src/observability/logger.js'
import { createMetrics } from '../../src/observability/metrics.js'
import { CircuitOpenError, createResilientCharge, type ResilienceOptions } from '../../src/providers/resilient.js'
import { createSandboxProvider } from '../../src/providers/sandbox.js'
import { ProviderRequestError, type ChargeRequest, type PaymentProvider } from '../../src/providers/types.js'
import { jsonLines } from '../helpers/lines.js'

const OPTIONS: ResilienceOptions = { timeoutMs: 200, maxAttempts: 3, backoffBaseMs: 1, backoffCapMs: 5, volumeThreshold: 4, errorThresholdPercentage: 50, resetTimeoutMs: 300 }
const plenty = () => 60_000

function harness (options: Partial<ResilienceOptions> = {}) {
  const lines: Array<Record<string, unknown>> = []
  const logger = createLogger({ logLevel: 'info' }, new Writable({ write (chunk, _e, done) { lines.push(JSON.parse(String(chunk))); done() } }))
  const documents = jsonLines()
  const metrics = createMetrics({ destination: documents.sink })
  const sandbox = createSandboxProvider({ latencyMs: 0, webhookUrl: undefined, webhookSecret: undefined, logger, clock: () => new Date() })
  const charge = createResilientCharge(sandbox, { ...OPTIONS, ...options }, { logger, metrics })
  return { sandbox, charge, lines, logger, metrics, documents: documents.lines }
}

const request = (paymentId: string, amount: number): ChargeRequest => ({ paymentId, amount, currency: 'EUR', customerId: 'c', idempotencyKey: paymentId })

t.test('a transient failure is retried and then succeeds, under the same idempotency key', async (t) => {
  const { sandbox, charge } = harness()
  t.match(await charge(request('pay_a', 1061), plenty), { outcome: 'succeeded' })
  t.equal(sandbox.attemptsFor('pay_a'), 2)
  t.equal(sandbox.chargesFor('pay_a'), 1)
})

t.test('a decline is a result: not retried, not a breaker failure', async (t) => {
  const { sandbox, charge } = harness()
  t.same(await charge(request('pay_d', 1051), plenty), { outcome: 'declined', providerRef: 'sbx_pay_d', reason: 'card_declined' })
  t.equal(sandbox.attemptsFor('pay_d'), 1)
  t.equal(charge.breaker.opened, false)
})

t.test('one failure on a fresh instance does not open the breaker', async (t) => {
  const { charge } = harness({ maxAttempts: 1 })
  await t.rejects(charge(request('pay_1', 1062), plenty), { name: 'TransientProviderError' })
  t.equal(charge.breaker.opened, false)
})

t.test('the breaker opens after the volume threshold of failures, then fails fast; it closes after recovery', async (t) => {
  const { sandbox, charge, metrics, documents } = harness({ maxAttempts: 1 })
  sandbox.setDown(true)
  for (let i = 0; i < 4; i++) await t.rejects(charge(request(`pay_down_${i}`, 1000), plenty))
  t.equal(charge.breaker.opened, true, 'open after 4 failures')
  metrics.flush()
  t.same(documents.map((document) => document.CircuitOpened), [1], 'one CircuitOpened metric document')
  const attemptsBefore = sandbox.attemptsFor('pay_fast')
  await t.rejects(charge(request('pay_fast', 1000), plenty), CircuitOpenError)
  t.equal(sandbox.attemptsFor('pay_fast'), attemptsBefore, 'an open breaker does not call the provider')

  sandbox.setDown(false)
  await new Promise((resolve) => setTimeout(resolve, OPTIONS.resetTimeoutMs + 50))
  t.match(await charge(request('pay_after', 1000), plenty), { outcome: 'succeeded' }, 'the half-open trial call goes through')
  t.equal(charge.breaker.closed, true)
})

t.test('the breaker\'s half-open and closed lines carry no invocation\'s context', async (t) => {
  // The breaker opens inside one invocation and starts its reset timer there; the timer's line
  // belongs to no invocation, and neither does the state the next call closes.
  const { sandbox, charge, lines } = harness({ maxAttempts: 1 })
  sandbox.setDown(true)
  await withLogContext({ awsRequestId: 'inv-open' }, async () => {
    for (let i = 0; i < 4; i++) await t.rejects(charge(request(`pay_ctx_${i}`, 1000), plenty))
  })
  sandbox.setDown(false)
  await new Promise((resolve) => setTimeout(resolve, OPTIONS.resetTimeoutMs + 50))
  await withLogContext({ awsRequestId: 'inv-close' }, () => charge(request('pay_ctx_after', 1000), plenty))
  const opened = lines.find((line) => line.msg === 'provider circuit opened')
  const halfOpen = lines.find((line) => typeof line.msg === 'string' && line.msg.startsWith('provider circuit half-open'))
  const closed = lines.find((line) => line.msg === 'provider circuit closed')
  t.equal(opened?.awsRequestId, 'inv-open', 'opening is the invocation\'s doing')
  t.ok(halfOpen !== undefined && closed !== undefined)
  t.notOk('awsRequestId' in (halfOpen ?? {}), 'the half-open line has no invocation')
  t.notOk('awsRequestId' in (closed ?? {}), 'the closed line has no invocation')
})

t.test('no call starts that could not finish before the invocation must end', async (t) => {
  const { sandbox, charge } = harness({ maxAttempts: 10 })
  await t.rejects(charge(request('pay_late', 1000), () => 1_050), { name: 'TransientProviderError', message: /not enough of the invocation is left/ })
  t.equal(sandbox.attemptsFor('pay_late'), 0, 'the provider was not called with 1.05 s left and a 1 s margin')
})

t.test('calls are cut short to the time left, and retries stop when it runs out', async (t) => {
  const { sandbox, charge } = harness({ maxAttempts: 10, timeoutMs: 5_000 })
  const deadline = Date.now() + 1_500
  const started = Date.now()
  await t.rejects(charge(request('pay_slowly', 1071), () => deadline - Date.now()), { name: 'TransientProviderError' })
  t.equal(sandbox.attemptsFor('pay_slowly'), 1, 'one call, timed out after the ~0.5 s left before the margin, not 5 s; no time for another')
  const elapsed = Date.now() - started
  t.ok(elapsed >= 400 && elapsed < 1_000, `gave up at the invocation's margin (${elapsed} ms)`)
})

t.test('a call slower than the timeout is abandoned as a transient failure', async (t) => {
  const { charge } = harness({ maxAttempts: 1, timeoutMs: 150 })
  const started = Date.now()
  await t.rejects(charge(request('pay_slow', 1071), plenty), { name: 'TransientProviderError', message: /within 150 ms/ })
  t.ok(Date.now() - started < 1_000, 'gave up at the timeout, not after the provider\'s 30 s')
})

t.test('a provider that keeps failing is called exactly maxAttempts times, then the failure is thrown', async (t) => {
  for (const maxAttempts of [1, 3]) {
    const { sandbox, charge } = harness({ maxAttempts })
    await t.rejects(charge(request(`pay_outage_${maxAttempts}`, 1062), plenty), { name: 'TransientProviderError', message: /processor_unavailable/ })
    t.equal(sandbox.attemptsFor(`pay_outage_${maxAttempts}`), maxAttempts, `${maxAttempts} call(s), not one more`)
  }
})

t.test('with the breaker open a charge fails at once: no retries against an open circuit', async (t) => {
  const { sandbox, charge, lines } = harness({ maxAttempts: 3 })
  charge.breaker.open()
  await t.rejects(charge(request('pay_open', 1000), plenty), CircuitOpenError)
  t.equal(sandbox.attemptsFor('pay_open'), 0)
  t.equal(lines.filter((line) => line.msg === 'provider call failed; retrying').length, 0, 'not retried')
})

t.test('retries back off exponentially from the base, capped, with the jitter drawn below the bound', async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const logger = createLogger({ logLevel: 'info' }, new Writable({ write (chunk, _e, done) { lines.push(JSON.parse(String(chunk))); done() } }))
  const sandbox = createSandboxProvider({ latencyMs: 0, webhookUrl: undefined, webhookSecret: undefined, logger, clock: () => new Date() })
  // The largest jitter: each wait is just under min(cap, base × 2ⁿ⁻¹) for the n-th retry.
  const charge = createResilientCharge(sandbox, { ...OPTIONS, maxAttempts: 4, backoffBaseMs: 10, backoffCapMs: 25 }, { logger, metrics: createMetrics({ destination: new Writable({ write (_chunk, _e, done) { done() } }) }), random: () => 0.999 })
  await t.rejects(charge(request('pay_backoff', 1062), plenty))
  t.same(lines.filter((line) => line.msg === 'provider call failed; retrying').map((line) => [line.attempt, line.retryInMs]), [[1, 9], [2, 19], [3, 24]])
})

t.test('a payment failing again and again counts once: it never opens the breaker for the others', async (t) => {
  const { sandbox, charge } = harness({ maxAttempts: 1 })
  for (let i = 0; i < 10; i++) await t.rejects(charge(request('pay_always', 1062), plenty), { name: 'TransientProviderError' })
  t.equal(sandbox.attemptsFor('pay_always'), 10, 'each redelivery is tried')
  t.equal(charge.breaker.closed, true)
  t.equal(charge.breaker.stats.failures, 1, 'one failure counted')
  t.equal(charge.breaker.stats.fires, 1, 'its redeliveries are not even counted as successes, so they cannot water down an outage')
  t.match(await charge(request('pay_healthy', 1000), plenty), { outcome: 'succeeded' })
})

t.test('a charge a retry rescues is one success for the breaker, not a failure', async (t) => {
  const { charge } = harness()
  t.match(await charge(request('pay_once', 1061), plenty), { outcome: 'succeeded' })
  t.same([charge.breaker.stats.fires, charge.breaker.stats.failures, charge.breaker.stats.successes], [1, 0, 1])
})

t.test('a provider error about one request is retried but never counted, across many payments', async (t) => {
  const { logger, metrics } = harness()
  let calls = 0
  const provider: PaymentProvider = { name: 'conflicted', charge: async () => { calls++; throw new ProviderRequestError('idempotency key in use') }, refund: async () => { throw new Error('not called') } }
  const charge = createResilientCharge(provider, { ...OPTIONS, maxAttempts: 2 }, { logger, metrics })
  for (let i = 0; i < 8; i++) await t.rejects(charge(request(`pay_conflict_${i}`, 1000), plenty), { name: 'ProviderRequestError' })
  t.equal(calls, 16, 'retried like any transient failure')
  t.equal(charge.breaker.closed, true)
  t.equal(charge.breaker.stats.failures, 0)
})

t.test('an outage across many payments opens the breaker even after some failed on their own', async (t) => {
  const { sandbox, charge } = harness({ maxAttempts: 1 })
  // Two payments fail on their own (counted once each, 2 of 4 calls: not above 50 %).
  for (const id of ['pay_x', 'pay_y']) await t.rejects(charge(request(id, 1062), plenty))
  for (const id of ['pay_ok1', 'pay_ok2']) await charge(request(id, 1000), plenty)
  t.equal(charge.breaker.closed, true)
  sandbox.setDown(true)
  for (let i = 0; i < 3; i++) await t.rejects(charge(request(`pay_new_${i}`, 1000), plenty))
  t.equal(charge.breaker.opened, true, 'many different payments failing is an outage')
  t.ok(charge.retryAfterMs() > 0 && charge.retryAfterMs() <= OPTIONS.resetTimeoutMs, `open for about the reset timeout (${charge.retryAfterMs()} ms left)`)
})

t.test('the half-open trial counts even for a payment that failed before: a failing trial opens it again', async (t) => {
  const { sandbox, charge } = harness({ maxAttempts: 1 })
  // pay_slow is in flight when the outage opens the breaker; its timeout comes after and is remembered.
  const slow = charge(request('pay_slow', 1071), plenty)
  sandbox.setDown(true)
  for (let i = 0; i < 4; i++) await t.rejects(charge(request(`pay_out_${i}`, 1000), plenty))
  t.equal(charge.breaker.opened, true)
  await t.rejects(slow, { message: /within 200 ms/ })
  sandbox.setDown(false)
  await new Promise((resolve) => setTimeout(resolve, OPTIONS.resetTimeoutMs + 50))
  t.equal(charge.breaker.halfOpen, true)
  t.equal(charge.retryAfterMs(), 0, 'no wait left once half-open')
  await t.rejects(charge(request('pay_slow', 1071), plenty), { message: /within 200 ms/ })
  t.equal(charge.breaker.opened, true, 'the trial failed: open again')
})

t.test('retries stop as soon as another charge has opened the breaker', async (t) => {
  const { sandbox, charge } = harness({ maxAttempts: 5, backoffBaseMs: 40, backoffCapMs: 40 })
  sandbox.setDown(true)
  const retrying = charge(request('pay_retrying', 1000), plenty)
  charge.breaker.open()
  await t.rejects(retrying, { name: 'TransientProviderError' })
  t.equal(sandbox.attemptsFor('pay_retrying'), 1, 'no retry against an open breaker')
})

t.test('a payment that failed again while the breaker was closed is never the half-open trial', async (t) => {
  const { sandbox, charge } = harness({ maxAttempts: 1 })
  for (let i = 0; i < 2; i++) await t.rejects(charge(request('pay_bad', 1062), plenty), { name: 'TransientProviderError' })
  charge.breaker.open()
  await new Promise((resolve) => setTimeout(resolve, OPTIONS.resetTimeoutMs + 50))
  t.equal(charge.breaker.halfOpen, true)
  await t.rejects(charge(request('pay_bad', 1062), plenty), CircuitOpenError)
  t.equal(sandbox.attemptsFor('pay_bad'), 2, 'not called: it waits for a healthy trial')
  t.match(await charge(request('pay_good', 1000), plenty), { outcome: 'succeeded' })
  t.equal(charge.breaker.closed, true, 'a healthy payment\'s trial closes it')
})
