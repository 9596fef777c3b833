import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { faultKindsInjected, type ChaosReport } from '../../../scripts/load/chaos-run.js'
import { ChaosFault } from '../../../scripts/load/chaos-schedule.js'
import { Invariant } from '../../../scripts/load/invariants.js'

// The real thing, short: `npm run chaos` with every fault kind once (a kill -9 and restart
// included), then the invariants over every payment in the table. Under a minute on a quiet
// machine; the bounds are for one busy with the rest of the suite.
const cwd = new URL('../../..', import.meta.url)
t.setTimeout(300_000)

t.test('npm run chaos -- --duration 15s --rate 5 --outage 4s: every fault kind is injected and every invariant holds', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'paylith-chaos-test-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const jsonPath = join(dir, 'report.json')
  const env: NodeJS.ProcessEnv = { ...process.env }
  delete env.AWS_ENDPOINT_URL
  delete env.AWS_ENDPOINT_URL_DYNAMODB
  const args = ['--duration', '15s', '--rate', '5', '--outage', '4s', '--throttle', '30', '--timeout', '30s', '--drain', '150s', '--seed', '12', '--json', jsonPath]
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/load/chaos.ts', ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 280_000 })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const [code] = await once(child, 'exit') as [number | null]
  t.equal(code, 0, code === 0 ? 'it exits 0' : `${stdout}\n${stderr.slice(-3000)}`)
  t.match(stdout, /faults injected/)
  t.match(stdout, /invariants held: 9\/9/)

  const report = JSON.parse(readFileSync(jsonPath, 'utf8')) as ChaosReport
  t.same(faultKindsInjected(report), Object.values(ChaosFault).sort(), 'every fault kind was injected, without a failure')
  t.same(report.invariants.map((invariant) => invariant.name), [...Object.values(Invariant), 'no healthy payment dead-lettered'])
  for (const invariant of report.invariants) t.ok(invariant.held, `${invariant.name}: ${invariant.detail}`)
  t.equal(report.invariantsHeld, report.invariants.length)
  t.equal(report.effects.appStarts, 2, 'the app was killed once and started again')
  t.ok(Object.values(report.effects.throttlesInjected).reduce((sum, count) => sum + count, 0) > 0, 'throttles were injected, and counted')
  t.ok(report.effects.storm.deliveries >= 3, `the storm delivered ${report.effects.storm.deliveries} webhooks`)
  t.equal(report.healthyDeadLettered.count, 0)
  t.ok(report.table.payments >= report.load.payments.created && report.table.payments > 0, `${report.table.payments} payments in the table, each checked`)
  t.equal(report.table.drainComplete, true)
  t.equal(report.table.queuesEmpty, true)
  t.equal(report.seed, 12)
})
