import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { printTable, type BenchRow } from './lib.js'

// `npm run bench`: every suite in a process of its own, each with fresh emulators (moto for
// SQS, DynamoDB Local for DynamoDB), so no suite runs on what an earlier one left behind;
// then one table of all the figures. Figures, not pass/fail: a missed target is reported.
const SUITES = ['cold-start', 'invoke', 'batch', 'idempotency', 'server', 'stream', 'shards', 'settlement']
const dir = mkdtempSync(join(tmpdir(), 'paylith-bench-'))
const rows: BenchRow[] = []
for (const suite of SUITES) {
  process.stderr.write(`bench: ${suite}...\n`)
  const file = join(dir, `${suite}.json`)
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/with-local-aws.ts', '--dynamodb-local', process.execPath, '--import', 'tsx', 'bench/only.ts', suite, '--json', file], { stdio: 'inherit' })
  if (result.status !== 0) throw new Error(`bench suite ${suite} failed (exit ${String(result.status)})`)
  rows.push(...JSON.parse(readFileSync(file, 'utf8')) as BenchRow[])
}
console.log(`\npaylith benchmarks: ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB\n`)
printTable(['metric', 'paylith', 'baseline (same run)', 'ratio', 'target'], rows.map((row) => [row.metric, row.ours, row.baseline, row.ratio, row.target]))
// The cold-start targets (M1 and M2 against the naive Lambdalith on each Node, M3, M4, M7a) on their own.
console.log('\ncold-start targets\n')
printTable(['metric', 'ratio', 'target'], rows.filter((row) => /^M(1|2|3|4|7a) /.test(row.metric)).map((row) => [row.metric, row.ratio, row.target]))
