import { execFileSync } from 'node:child_process'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { findNode22 } from '../scripts/node22.js'
import { median, ratioOf, type BenchRow } from './lib.js'

// M1 (whole-process time: import dist/lambda.mjs + first API invoke), M2 (peak RSS after
// that) and M3 (bundle bytes), against `node -e 0` in the same run, interleaved. M1 and M2 on
// this Node and, where installed (linux-x64), on Node 22, which Lambda runs.
const RUNS = Number(process.env.BENCH_COLD_RUNS ?? 20)
const dist = fileURLToPath(new URL('../dist/', import.meta.url))
const probe = fileURLToPath(new URL('./first-invoke.mjs', import.meta.url))

/** Runs `node args` once (it prints its peak RSS last); returns wall milliseconds and that RSS in KiB. */
function measure (node: string, args: string[], env: NodeJS.ProcessEnv): { ms: number, maxRssKiB: number } {
  const start = process.hrtime.bigint()
  const out = execFileSync(node, args, { env, encoding: 'utf8' })
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  return { ms, maxRssKiB: Number(out.trim().split('\n').pop()) }
}

/** The cold path's bytes: lambda.mjs and the chunks it imports statically (not the lazy ones). */
export function coldPathBytes (): { cold: number, total: number } {
  const main = join(dist, 'lambda.mjs')
  const statics = new Set([...readFileSync(main, 'utf8').matchAll(/from"\.\/(chunks\/[^"]+)"/g)].map((m) => m[1] as string))
  const chunks = readdirSync(join(dist, 'chunks')).map((file) => join('chunks', file))
  const size = (file: string) => statSync(join(dist, file)).size
  return {
    cold: size('lambda.mjs') + [...statics].reduce((sum, file) => sum + size(file), 0),
    total: size('lambda.mjs') + chunks.reduce((sum, file) => sum + size(file), 0)
  }
}

/** Runs M1-M3: M1 and M2 for this Node, then for Node 22 when it is installed. */
export async function run (): Promise<BenchRow[]> {
  const node22 = findNode22()
  if ('missing' in node22) process.stderr.write(`bench: cold start on ${process.version} only: ${node22.missing}\n`)
  const nodes = 'binary' in node22 ? [process.execPath, node22.binary] : [process.execPath]
  const { cold, total } = coldPathBytes()
  return [
    ...nodes.flatMap((node) => coldStart(node)),
    { metric: 'M3 bundle bytes (cold path; all chunks)', ours: `${(cold / 1024).toFixed(0)} KiB; ${(total / 1024).toFixed(0)} KiB`, baseline: '—', ratio: '—', target: '≤ 900 KB' }
  ]
}

/** M1 and M2 on one Node binary, against `node -e 0` on the same binary. */
function coldStart (node: string): BenchRow[] {
  const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }
  const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim()
  const baseline: Array<{ ms: number, maxRssKiB: number }> = []
  const ours: Array<{ ms: number, maxRssKiB: number }> = []
  for (let i = -2; i < RUNS; i++) {
    const b = measure(node, ['-e', 'process.stdout.write(String(process.resourceUsage().maxRSS))'], env)
    const o = measure(node, [probe, join(dist, 'lambda.mjs')], env)
    if (i >= 0) { baseline.push(b); ours.push(o) }
  }
  const msOurs = median(ours.map((r) => r.ms))
  const msBase = median(baseline.map((r) => r.ms))
  const rssOurs = median(ours.map((r) => r.maxRssKiB))
  const rssBase = median(baseline.map((r) => r.maxRssKiB))
  return [
    { metric: `M1 import + first API invoke (process wall time), Node ${version}`, ours: `${msOurs.toFixed(0)} ms`, baseline: `node -e 0: ${msBase.toFixed(0)} ms`, ratio: ratioOf(msOurs, msBase), target: '≤ 1.8' },
    { metric: `M2 peak RSS after init, Node ${version}`, ours: `${(rssOurs / 1024).toFixed(1)} MiB`, baseline: `node -e 0: ${(rssBase / 1024).toFixed(1)} MiB`, ratio: ratioOf(rssOurs, rssBase), target: '≤ 1.4' }
  ]
}
