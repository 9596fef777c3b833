import { cpus, totalmem } from 'node:os'
import { printTable, type BenchRow } from './lib.js'

// `npm run bench`: every benchmark, one after the other, then one table of all the figures.
// Figures, not pass/fail: a missed target is reported, never hidden.
const suites: Array<[string, () => Promise<{ run: () => Promise<BenchRow[]> }>]> = [
  ['cold start (M1-M3)', async () => import('./cold-start.js')],
  ['invocation (M4, M5)', async () => import('./invoke.js')],
  ['batch (M6)', async () => import('./batch.js')],
  ['idempotency (M7)', async () => import('./idempotency.js')],
  ['local server (M8)', async () => import('./server.js')]
]

const rows: BenchRow[] = []
for (const [name, load] of suites) {
  process.stderr.write(`bench: ${name}...\n`)
  rows.push(...await (await load()).run())
}
console.log(`\npaylith benchmarks: ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB\n`)
printTable(['metric', 'paylith', 'baseline (same run)', 'ratio', 'target'], rows.map((row) => [row.metric, row.ours, row.baseline, row.ratio, row.target]))
