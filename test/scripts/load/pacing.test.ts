import t from 'tap'
import { runOpenLoop } from '../../../scripts/load/pacing.js'

/** A clock that only moves when the schedule waits, so the tests do not depend on timers. */
function fakeClock (start = 1_000_000): { now: () => number, wait: (ms: number) => Promise<void>, advance: (ms: number) => void } {
  let time = start
  return { now: () => time, wait: async (ms) => { time += ms }, advance: (ms) => { time += ms } }
}

t.test('starts are made on schedule, 1000 / rate ms apart, for the duration', async (t) => {
  const clock = fakeClock()
  const startedAt: number[] = []
  const result = await runOpenLoop({ rate: 10, durationMs: 1000, maxInFlight: 100, now: clock.now, wait: clock.wait }, async () => { startedAt.push(clock.now()) })
  t.equal(result.scheduled, 10)
  t.equal(result.started, 10)
  t.equal(result.shed, 0)
  t.same(startedAt.map((at) => at - 1_000_000), [0, 100, 200, 300, 400, 500, 600, 700, 800, 900])
})

t.test('the loop is open: a start does not wait for the ones before it to finish', async (t) => {
  const clock = fakeClock()
  const pending: Array<() => void> = []
  let running = 0
  let maxRunning = 0
  const run = runOpenLoop({ rate: 5, durationMs: 1000, maxInFlight: 100, now: clock.now, wait: clock.wait }, async () => {
    running++
    maxRunning = Math.max(maxRunning, running)
    await new Promise<void>((resolve) => pending.push(resolve))
    running--
  })
  while (pending.length < 5) await new Promise((resolve) => setImmediate(resolve))
  for (const release of pending) release()
  const result = await run
  t.equal(result.started, 5)
  t.equal(maxRunning, 5, 'all five were started before any finished')
})

t.test('a start due while maxInFlight are running is shed and counted, not sent', async (t) => {
  const clock = fakeClock()
  const releases: Array<() => void> = []
  let shedSeen = 0
  const run = runOpenLoop({ rate: 10, durationMs: 1000, maxInFlight: 3, now: clock.now, wait: clock.wait, onShed: () => { shedSeen++ } }, async () => {
    await new Promise<void>((resolve) => releases.push(resolve))
  })
  while (releases.length < 3) await new Promise((resolve) => setImmediate(resolve))
  await new Promise((resolve) => setImmediate(resolve))
  for (const release of releases) release()
  const result = await run
  t.equal(result.scheduled, 10)
  t.equal(result.started, 3)
  t.equal(result.shed, 7)
  t.equal(shedSeen, 7)
})

t.test('starts that fell behind are made at once, to catch up with the schedule', async (t) => {
  const clock = fakeClock()
  const startedAt: number[] = []
  await runOpenLoop({ rate: 10, durationMs: 500, maxInFlight: 100, now: clock.now, wait: clock.wait }, async () => {
    startedAt.push(clock.now() - 1_000_000)
    if (startedAt.length === 1) clock.advance(350)
  })
  t.same(startedAt, [0, 350, 350, 350, 400])
})

t.test('an abort ends the schedule; what is in flight still settles', async (t) => {
  const controller = new AbortController()
  let finished = 0
  const result = await runOpenLoop({ rate: 100, durationMs: 60_000, maxInFlight: 100, signal: controller.signal }, async (index) => {
    if (index === 4) controller.abort()
    await new Promise((resolve) => setTimeout(resolve, 5))
    finished++
  })
  t.equal(result.started, 5, 'nothing started after the abort')
  t.equal(finished, result.started, 'every start settled before it resolved')
  t.ok(result.endedAt - result.startedAt < 5_000)
})

t.test('a rate of 0 or an in-flight bound under 1 is refused', async (t) => {
  await t.rejects(runOpenLoop({ rate: 0, durationMs: 1000, maxInFlight: 1 }, async () => {}), RangeError)
  await t.rejects(runOpenLoop({ rate: 1, durationMs: 1000, maxInFlight: 0 }, async () => {}), RangeError)
})
