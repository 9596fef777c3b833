import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { LoadReport } from '../../../scripts/load/report.js'

// The real thing: `npm run load` starts its emulators and the app, sends a short load and reports.
const cwd = new URL('../../..', import.meta.url)
// About 15 s alone; bounds are generous for a machine busy with the rest of the suite.
t.setTimeout(240_000)

t.test('npm run load -- --rate 20 --duration 3s: every payment settles and the report adds up', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'paylith-load-test-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const jsonPath = join(dir, 'report.json')
  const env: NodeJS.ProcessEnv = { ...process.env }
  delete env.AWS_ENDPOINT_URL
  delete env.AWS_ENDPOINT_URL_DYNAMODB
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/load/load.ts', '--rate', '20', '--duration', '3s', '--timeout', '30s', '--drain', '90s', '--json', jsonPath], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 200_000 })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const [code] = await once(child, 'exit') as [number | null]
  t.equal(code, 0, code === 0 ? 'it exits 0' : stderr)
  t.match(stderr, /sent +\d+ +[\d.]+ req\/s +errors +\d+ +in flight/, 'progress was shown while it ran')
  t.match(stdout, /outbox lag p50/)

  const report = JSON.parse(readFileSync(jsonPath, 'utf8')) as LoadReport
  const { requests, payments, routes } = report
  t.ok(requests.total >= 50 && requests.total <= 61, `${requests.total} requests: 20/s for 3 s`)
  t.equal(Object.values(routes).reduce((sum, route) => sum + route.count, 0), requests.total, 'the routes add up to the requests')
  t.equal(Object.values(report.errors).reduce((sum, count) => sum + count, 0), requests.errors, 'the errors by type add up to the errors')
  t.same(Object.keys(report.errors).filter((type) => !type.startsWith('409 idempotency-key-in-flight')), [], 'no errors but a retry meeting its first request in flight')
  t.ok(payments.created > 0)
  t.equal(report.drain.complete, true, 'the drain ended with every payment settled')
  t.equal(payments.unsettled + payments.missing + payments.visiblyWaiting, 0)
  t.equal((payments.byStatus.succeeded ?? 0) + (payments.byStatus.failed ?? 0), payments.created, 'every payment created ended succeeded or failed')
  t.equal(report.outboxLagMs.count, payments.created, 'every payment was relayed once at least')
  t.equal(report.settleMs.count, payments.created)
  t.ok(report.outboxLagMs.p50! <= report.outboxLagMs.p99! && report.outboxLagMs.p99! <= report.outboxLagMs.max!)
  t.ok(report.settleMs.p50! >= 0)
  t.equal(report.idempotency.otherPayment, 0, 'a repeated key never got another payment')
})
