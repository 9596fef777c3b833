import t from 'tap'
import { createLogger } from '../../src/observability/logger.js'
import { createMetrics } from '../../src/observability/metrics.js'
import { createResilientCharge, type ResilienceOptions } from '../../src/providers/resilient.js'
import { createSandboxProvider } from '../../src/providers/sandbox.js'
import type { ChargeRequest } from '../../src/providers/types.js'

const OPTIONS: ResilienceOptions = { timeoutMs: 60_000, maxAttempts: 10, backoffBaseMs: 5_000, backoffCapMs: 5_000, volumeThreshold: 100, errorThresholdPercentage: 50, resetTimeoutMs: 300 }
const plenty = () => 600_000
const logger = createLogger({ logLevel: 'silent' })

function harness (stopSignal: AbortSignal) {
  const sandbox = createSandboxProvider({ latencyMs: 0, webhookUrl: undefined, webhookSecret: undefined, logger, clock: () => new Date() })
  // Full jitter drawn at its top: every retry waits the whole 5 s.
  const charge = createResilientCharge(sandbox, OPTIONS, { logger, metrics: createMetrics({ destination: { write: () => true } }), random: () => 0.999, stopSignal })
  return { sandbox, charge }
}

const request = (paymentId: string, amount: number): ChargeRequest => ({ paymentId, amount, currency: 'EUR', customerId: 'c', idempotencyKey: paymentId })

t.test('stopping ends a retry that is waiting at once, with a transient failure (the message goes back to the queue)', async (t) => {
  const stop = new AbortController()
  const { sandbox, charge } = harness(stop.signal)
  const charging = charge(request('pay_stop_waiting', 1062), plenty)
  await new Promise((resolve) => setTimeout(resolve, 100))
  const started = Date.now()
  stop.abort()
  await t.rejects(charging, { name: 'TransientProviderError', message: /processor_unavailable/ })
  t.ok(Date.now() - started < 500, 'not after the 5 s wait')
  t.equal(sandbox.attemptsFor('pay_stop_waiting'), 1, 'no try after the stop')
})

t.test('stopping abandons a provider call in flight', async (t) => {
  const stop = new AbortController()
  const { charge } = harness(stop.signal)
  const charging = charge(request('pay_stop_slow', 1071), plenty)
  setTimeout(() => { stop.abort() }, 100)
  const started = Date.now()
  await t.rejects(charging, { name: 'TransientProviderError', message: /shutting down/ })
  t.ok(Date.now() - started < 1_000, 'not after the provider\'s 30 s')
})

t.test('once stopped, no call is made at all', async (t) => {
  const stop = new AbortController()
  stop.abort()
  const { sandbox, charge } = harness(stop.signal)
  await t.rejects(charge(request('pay_stopped', 1000), plenty), { name: 'TransientProviderError', message: /shutting down/ })
  t.equal(sandbox.attemptsFor('pay_stopped'), 0)
})
