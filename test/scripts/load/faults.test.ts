import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { combine, formatInjectedFaults, runFaultSchedule } from '../../../scripts/load/faults.js'
import { parseFaults, type Faults } from '../../../src/local/faults.js'
import { tempDir } from '../../helpers/temp-dir.js'

const faultsPath = () => join(tempDir('paylith-schedule-'), 'faults.json')

t.test('the schedule writes the faults in force to the file, kills and restarts the app, runs actions, and says what it did when', async (t) => {
  const faultsFile = faultsPath()
  // What the app would read, every 20 ms: each change once.
  const seen: string[] = []
  const sampler = setInterval(() => {
    let text: string
    try { text = JSON.stringify(parseFaults(readFileSync(faultsFile, 'utf8'))) } catch { return }
    if (seen[seen.length - 1] !== text) seen.push(text)
  }, 20)
  t.teardown(() => { clearInterval(sampler) })
  let restarts = 0
  let faultsAtKill: Faults | undefined
  const app = {
    crashAndRestart: async () => {
      faultsAtKill = parseFaults(readFileSync(faultsFile, 'utf8'))
      restarts++
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  let stormed = false

  const injected = await runFaultSchedule({
    faultsFile,
    app,
    schedule: [
      { atMs: 0, durationMs: 300, fault: { kind: 'provider-down' } },
      { atMs: 100, durationMs: 400, fault: { kind: 'dynamodb-throttle', rate: 0.2 } },
      { atMs: 150, durationMs: 0, fault: { kind: 'kill' } },
      { atMs: 350, durationMs: 0, fault: { kind: 'action', name: 'webhook-storm', run: async () => { stormed = true } } }
    ]
  })
  clearInterval(sampler)

  t.equal(restarts, 1)
  t.same(faultsAtKill, { provider: { down: true }, dynamodb: { throttleRate: 0.2 } }, 'the kill came while both were in force')
  t.ok(stormed, 'the action ran')
  t.same(seen.filter((text) => text !== '{}'), [
    '{"provider":{"down":true}}',
    '{"provider":{"down":true},"dynamodb":{"throttleRate":0.2}}',
    '{"dynamodb":{"throttleRate":0.2}}'
  ], 'down, then down and throttled, then throttled alone')
  t.same(parseFaults(readFileSync(faultsFile, 'utf8')), {}, 'no fault once the schedule is over')
  t.same(injected.map((row) => row.fault), ['provider-down', 'dynamodb-throttle', 'kill', 'webhook-storm'], 'in the order they started')
  t.ok(injected.every((row) => row.ok && row.endedMs >= row.startedMs))
  const down = injected[0]
  t.ok(down !== undefined && down.endedMs - down.startedMs >= 290, 'the outage lasted its duration')
  const table = formatInjectedFaults(injected)
  t.match(table, /^fault +detail +from +to +result$/m)
  t.match(table, /^dynamodb-throttle +rate 0\.2, for 400 ms +\d+\.\d s +\d+\.\d s +ok$/m)
})

t.test('a failing restart is reported, not thrown, and the rest of the schedule runs', async (t) => {
  const faultsFile = faultsPath()
  const injected = await runFaultSchedule({
    faultsFile,
    app: { crashAndRestart: async () => { throw new Error('did not answer /ready') } },
    schedule: [
      { atMs: 0, durationMs: 0, fault: { kind: 'kill' } },
      { atMs: 10, durationMs: 50, fault: { kind: 'sqs-duplicates', visibilityTimeoutSeconds: 1 } },
      { atMs: 10, durationMs: 50, fault: { kind: 'provider-latency', latencyMs: 2000 } }
    ]
  })
  t.match(injected, [{ fault: 'kill', ok: false, error: 'did not answer /ready' }, { ok: true }, { ok: true }])
  t.match(formatInjectedFaults(injected), /failed: did not answer \/ready/)
})

t.test('an aborted schedule starts nothing more and leaves no fault', async (t) => {
  const faultsFile = faultsPath()
  const controller = new AbortController()
  setTimeout(() => { controller.abort() }, 50)
  let restarts = 0
  const injected = await runFaultSchedule({
    faultsFile,
    signal: controller.signal,
    app: { crashAndRestart: async () => { restarts++ } },
    schedule: [{ atMs: 0, durationMs: 10_000, fault: { kind: 'provider-down' } }, { atMs: 5_000, durationMs: 0, fault: { kind: 'kill' } }]
  })
  t.equal(restarts, 0)
  t.same(injected.map((row) => row.fault), ['provider-down'])
  t.same(parseFaults(readFileSync(faultsFile, 'utf8')), {})
})

t.test('overlapping faults combine: down if any, the highest latency and rate, the shortest visibility', async (t) => {
  t.same(combine([
    { kind: 'provider-latency', latencyMs: 100 },
    { kind: 'provider-latency', latencyMs: 900 },
    { kind: 'provider-down' },
    { kind: 'dynamodb-throttle', rate: 0.5 },
    { kind: 'dynamodb-throttle', rate: 0.1 },
    { kind: 'sqs-duplicates', visibilityTimeoutSeconds: 3 },
    { kind: 'sqs-duplicates', visibilityTimeoutSeconds: 1 },
    { kind: 'kill' }
  ]), { provider: { latencyMs: 900, down: true }, dynamodb: { throttleRate: 0.5 }, sqs: { visibilityTimeoutSeconds: 1 } })
  t.same(combine([]), {})
})

t.test('a fault that outlasts restarts is lengthened by the time the app spent restarting within it; others keep their window', async (t) => {
  const faultsFile = faultsPath()
  const app = { crashAndRestart: async () => { await new Promise((resolve) => setTimeout(resolve, 300)) } }
  const injected = await runFaultSchedule({
    faultsFile,
    app,
    schedule: [
      // The first restart begins before the throttle opens: only its part inside the window counts.
      { atMs: 0, durationMs: 0, fault: { kind: 'kill' } },
      { atMs: 200, durationMs: 200, fault: { kind: 'dynamodb-throttle', rate: 0.2 }, outlastsRestarts: true },
      { atMs: 200, durationMs: 200, fault: { kind: 'provider-down' } }
    ]
  })
  const row = (name: string) => injected.find((each) => each.fault === name)
  const lasted = (name: string) => { const found = row(name); return found === undefined ? 0 : found.endedMs - found.startedMs }
  const kill = row('kill')
  const throttle = row('dynamodb-throttle')
  if (kill === undefined || throttle === undefined) throw new Error('missing rows')
  const inside = kill.endedMs - throttle.startedMs
  t.ok(inside >= 80, `the restart ran ${inside} ms into the throttle's window`)
  t.ok(lasted('dynamodb-throttle') >= 200 + inside - 20, `the throttle lasted ${lasted('dynamodb-throttle')} ms: its 200 and the restart's ${inside} ms inside it`)
  // Counting the restart's whole time would make it ~200 ms longer than that.
  t.ok(lasted('dynamodb-throttle') < 200 + inside + 150, 'not the restart\'s whole time: its part before the window does not count')
  t.ok(lasted('provider-down') < 290, `the outage kept its window (${lasted('provider-down')} ms)`)
})
