import t from 'tap'
import { startBreakerRuntime } from './helpers/breaker-runtime.js'
import { waitFor } from './helpers/wait.js'

// The mix of sandbox outcomes against the real workers (local runtime, SQS on the
// emulator, DynamoDB Local), with scaled-down timings.

t.test('ten payments of each sandbox outcome at once: the healthy ones all succeed, only the always-failing ones are dead-lettered', async (t) => {
  // 5 s: the local invocation timeout is the visibility timeout, and the stream relay of 50
  // creates needs more than 2 s.
  const harness = await startBreakerRuntime(t, { visibilityTimeoutSeconds: 5 })
  const endings = [0, 51, 61, 62, 71] as const
  const ids = new Map<number, string[]>(endings.map((ending) => [ending, []]))
  await Promise.all(Array.from({ length: 10 }, (_, i) => endings.map(async (ending) => {
    ids.get(ending)?.push(await harness.create(1000 + ending, `cus_mix_${i}`))
  })).flat())
  const of = (ending: number): string[] => ids.get(ending) ?? []
  const settled = async (ending: number, status: string): Promise<boolean> => (await Promise.all(of(ending).map(harness.statusOf))).every((s) => s === status)

  try {
    await waitFor('every healthy payment to succeed', () => settled(0, 'succeeded'), { timeoutMs: 60_000, intervalMs: 500 })
  } catch (error) {
    const dead = await harness.deadLettered()
    t.comment(JSON.stringify({ statuses: await Promise.all(of(0).map(harness.statusOf)), dead: of(0).filter((id) => dead.has(id)).length, opened: harness.count('CircuitOpened'), deferred: harness.count('ChargeDeferred') }))
    throw error
  }
  await waitFor('every decline to fail', () => settled(51, 'failed'), { timeoutMs: 30_000, intervalMs: 500 })
  await waitFor('every transient-once payment to succeed', () => settled(61, 'succeeded'), { timeoutMs: 30_000, intervalMs: 500 })
  // 62 always fails and 71 always outlasts the 200 ms timeout: their own problem, so their receives run out.
  await waitFor('every always-failing payment to be dead-lettered', async () => {
    const dead = await harness.deadLettered()
    return [...of(62), ...of(71)].every((id) => dead.has(id))
  }, { timeoutMs: 90_000, intervalMs: 1_000 })

  const dead = await harness.deadLettered()
  t.same([...of(0), ...of(51), ...of(61)].filter((id) => dead.has(id)), [], 'no healthy, declined or recovered payment dead-lettered')
  t.equal(dead.size, 20, 'exactly the 62s and the 71s')
  for (const id of [...of(0), ...of(61)]) t.equal(harness.runtime.sandbox?.chargesFor(id), 1, `${id} charged once`)
  t.comment(`breaker opened ${harness.count('CircuitOpened')} time(s); ${harness.count('ChargeDeferred')} charge(s) deferred`)
})
