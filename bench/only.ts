// `node --import tsx bench/only.ts <suite>`: one benchmark suite on its own (cold-start, invoke,
// batch, idempotency, server), for working on one figure.
import { printTable, type BenchRow } from './lib.js'

const name = process.argv[2] ?? ''
const suite = await import(`./${name}.js`) as { run: () => Promise<BenchRow[]> }
const rows = await suite.run()
printTable(['metric', 'paylith', 'baseline (same run)', 'ratio', 'target'], rows.map((row) => [row.metric, row.ours, row.baseline, row.ratio, row.target]))
