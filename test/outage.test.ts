import t from 'tap'
import { MAX_RECEIVE_COUNT, VISIBILITY_TIMEOUT_SECONDS, startBreakerRuntime } from './helpers/breaker-runtime.js'
import { waitFor } from './helpers/wait.js'

// A provider outage against the real workers (local runtime, SQS on the emulator, DynamoDB
// Local, the sandbox's setDown), with scaled-down timings.

t.test('an outage longer than five visibility timeouts opens the breaker, defers the charges, and dead-letters none once it ends', async (t) => {
  const harness = await startBreakerRuntime(t)
  const sandbox = harness.runtime.sandbox
  if (sandbox === undefined) throw new Error('no sandbox')
  sandbox.setDown(true)
  const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => harness.create(1000, `cus_outage_${i}`)))
  await waitFor('the breaker to open', () => harness.count('CircuitOpened') > 0, { timeoutMs: 20_000 })
  const outageMs = (MAX_RECEIVE_COUNT * VISIBILITY_TIMEOUT_SECONDS + 4) * 1000
  await new Promise((resolve) => setTimeout(resolve, outageMs))
  t.ok(harness.count('ChargeDeferred') >= ids.length, `charges deferred, not failed, while it was open (${harness.count('ChargeDeferred')})`)
  t.same([...await harness.deadLettered()], [], 'nothing dead-lettered during the outage')
  sandbox.setDown(false)

  await waitFor('every payment to succeed after the outage', async () => (await Promise.all(ids.map(harness.statusOf))).every((s) => s === 'succeeded'), { timeoutMs: 90_000, intervalMs: 500 })
  t.same([...await harness.deadLettered()], [], 'none dead-lettered')
  for (const id of ids) t.equal(sandbox.chargesFor(id), 1, `${id} charged once`)
  t.comment(`breaker opened ${harness.count('CircuitOpened')} time(s); ${harness.count('ChargeDeferred')} charge(s) deferred`)
})
