// `node --import tsx bench/only.ts <suite> [--json <file>]`: one benchmark suite on its own
// (cold-start, invoke, batch, idempotency, server, stream, shards, settlement); prints its table, or writes its rows as JSON.
import { writeFileSync } from 'node:fs'
import { printTable, type BenchRow } from './lib.js'

const [name = '', flag, file] = process.argv.slice(2)
const suite = await import(`./${name}.js`) as { run: () => Promise<BenchRow[]> }
const rows = await suite.run()
if (flag === '--json' && file !== undefined) writeFileSync(file, JSON.stringify(rows))
else printTable(['metric', 'paylith', 'baseline (same run)', 'ratio', 'target'], rows.map((row) => [row.metric, row.ours, row.baseline, row.ratio, row.target]))
