import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { coldPathFiles } from '../scripts/cold-path.js'
import { findNode22 } from '../scripts/node22.js'
import { hashApiKey } from '../src/config/api-keys.js'
import { bootstrapLocal } from '../src/local/bootstrap.js'
import { benchConfig, median, percentile, printTable, type BenchRow } from './lib.js'

// M1 (whole-process CPU, user + system, of a cold start: import the bundle, then one API
// Gateway v2 `GET /v1/payments/{id}` that reads DynamoDB and answers 404) and M2 (that
// process's peak RSS), paylith's dist/lambda.mjs against the naive Lambdalith
// (bench/naive-lambdalith.ts, bundled here as a user would), its two halves on their own
// (bench/fastify-alone.ts, bench/dynamodb-alone.ts) and `node -e 0` (the floor), run by
// run in rotating order on a shared machine, in an environment like Lambda's; ratios are medians of the per-run ratios, with
// their interquartile range as the noise. On this Node and, where installed, Node 22. M3: the
// bytes a cold start reads. Then paylith's bundles make a second request, to a route not used
// yet (POST /v1/payments): its CPU is what loading on first use moved from the init to it.
const RUNS = Number(process.env.BENCH_COLD_RUNS ?? 20)
const WARMUP = 2
const dist = fileURLToPath(new URL('../dist/', import.meta.url))
const probe = fileURLToPath(new URL('./first-invoke.mjs', import.meta.url))
const naiveSources = {
  naive: fileURLToPath(new URL('./naive-lambdalith.ts', import.meta.url)),
  'naive+schema': fileURLToPath(new URL('./naive-lambdalith-validated.ts', import.meta.url)),
  // The naive one's two halves: what Fastify and the DynamoDB client cost on their own.
  'Fastify alone': fileURLToPath(new URL('./fastify-alone.ts', import.meta.url)),
  'DynamoDB alone': fileURLToPath(new URL('./dynamodb-alone.ts', import.meta.url))
} as const
type Naive = keyof typeof naiveSources
const API_KEY = 'plk_bench_cold_start'
// Another build of paylith (a copy of an earlier dist/lambda.mjs) to time in the same runs: a change's before and after.
const BEFORE = process.env.BENCH_COLD_BEFORE

/** One process's cold start: CPU and wall milliseconds, peak RSS in KiB; and, for paylith, the CPU of the create that followed. */
interface Sample { cpuMs: number, wallMs: number, maxRssKiB: number, createCpuMs?: number }

/**
 * Runs `node args` once. It prints its CPU, wall time and peak RSS as JSON last, taken at the
 * first response: paylith's process goes on to a second request and every process then exits,
 * neither of which a Lambda cold start waits for (timed from outside, paylith's wall time
 * looked ~1.1× the naive one's for that reason alone).
 */
function measure (node: string, args: string[], env: NodeJS.ProcessEnv): Sample {
  const out = execFileSync(node, args, { env, encoding: 'utf8' })
  return JSON.parse(out.trim().split('\n').pop() ?? '') as Sample
}

/** The cold path's bytes (scripts/cold-path.ts), and all of dist/'s bytes. */
export function coldPathBytes (): { cold: number, total: number } {
  const size = (file: string) => statSync(join(dist, file)).size
  const files = ['chunks', 'compiled'].flatMap((dir) => existsSync(join(dist, dir)) ? (readdirSync(join(dist, dir), { recursive: true }) as string[]).map((file) => join(dir, file)).filter((file) => statSync(join(dist, file)).isFile()) : [])
  return {
    cold: coldPathFiles(dist).reduce((sum, file) => sum + size(file), 0),
    total: size('lambda.mjs') + files.reduce((sum, file) => sum + size(file), 0)
  }
}

/**
 * Bundles the naive Lambdalith the way esbuild's documentation shows for Node: bundle, minify,
 * platform node, format esm, one file. The banner is the fix every user of an ESM bundle meets
 * (CommonJS dependencies call require() for Node built-ins, which ESM has not).
 */
export async function buildNaive (outdir: string, which: Naive = 'naive'): Promise<string> {
  const outfile = join(outdir, `${which.replace(/\W+/g, '-')}.mjs`)
  await build({
    entryPoints: [naiveSources[which]],
    outfile,
    bundle: true,
    minify: true,
    platform: 'node',
    format: 'esm',
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    logLevel: 'warning'
  })
  return outfile
}

/** Runs M1 and M2 on this Node, then on Node 22 when it is installed; then M3. */
export async function run (): Promise<BenchRow[]> {
  const node22 = findNode22()
  if ('missing' in node22) process.stderr.write(`bench: cold start on ${process.version} only: ${node22.missing}\n`)
  const nodes = 'binary' in node22 ? [process.execPath, node22.binary] : [process.execPath]
  const dir = mkdtempSync(join(tmpdir(), 'paylith-cold-'))
  try {
    const naive = Object.fromEntries(await Promise.all(Object.keys(naiveSources).map(async (which) => [which, await buildNaive(dir, which as Naive)]))) as Record<Naive, string>
    const { config } = await bootstrapLocal(benchConfig('cold'))
    // Lambda's Node 20+ runtimes leave NODE_EXTRA_CA_CERTS unset (reading Amazon's CA bundle
    // slowed every cold start); a machine that sets it (this one points it at the system's
    // bundle) adds ~35 ms of CPU to every Node 20 process here, the floor's included.
    const { NODE_EXTRA_CA_CERTS: _extraCaCerts, ...lambdaLike } = process.env
    const env: NodeJS.ProcessEnv = {
      ...lambdaLike,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      AWS_LAMBDA_FUNCTION_NAME: 'bench',
      TABLE_NAME: config.tableName,
      WORK_QUEUE_URL: config.queues.work.url,
      DEAD_LETTER_QUEUE_URL: config.queues.deadLetter.url,
      SETTLEMENT_QUEUE_URL: config.settlements.queueUrl,
      API_KEYS: `${hashApiKey(API_KEY)}=payments:read|payments:write`,
      BENCH_API_KEY: API_KEY,
      PAYMENT_PROVIDER: 'sandbox',
      LOG_LEVEL: 'silent'
    }
    const rows = nodes.flatMap((node) => coldStart(node, naive, env))
    const { cold, total } = coldPathBytes()
    const naiveBytes = statSync(naive.naive).size
    return [
      ...rows,
      { metric: 'M3 cold-path bytes (lambda.mjs + static chunks; all files)', ours: `${(cold / 1024).toFixed(0)} KiB; ${(total / 1024).toFixed(0)} KiB`, baseline: `naive: ${(naiveBytes / 1024).toFixed(0)} KiB`, ratio: (cold / naiveBytes).toFixed(2), target: '≤ 700 KiB' }
    ]
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Element-wise sums of two series. */
const sum = (a: number[], b: number[]) => a.map((value, i) => value + (b[i] ?? Number.NaN))

/** The median of per-run ratios, with their interquartile range (the run-to-run noise). */
function pairedRatio (ours: number[], baseline: number[]): string {
  const ratios = ours.map((value, i) => value / (baseline[i] ?? Number.NaN))
  return `${median(ratios).toFixed(2)} (IQR ${percentile(ratios, 25).toFixed(2)}–${percentile(ratios, 75).toFixed(2)})`
}

/** M1 and M2 on one Node binary: paylith, the naive Lambdalith and `node -e 0`, interleaved. */
function coldStart (node: string, naive: Record<Naive, string>, env: NodeJS.ProcessEnv): BenchRow[] {
  const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim()
  const processes: Record<string, string[]> = {
    floor: ['-e', 'const { user, system } = process.cpuUsage(); process.stdout.write(JSON.stringify({ cpuMs: (user + system) / 1000, wallMs: performance.now(), maxRssKiB: process.resourceUsage().maxRSS }))'],
    ...Object.fromEntries(Object.entries(naive).map(([which, bundle]) => [which, [probe, bundle]])),
    paylith: [probe, join(dist, 'lambda.mjs'), '--then-create'],
    ...(BEFORE !== undefined && { before: [probe, BEFORE, '--then-create'] })
  }
  const names = Object.keys(processes)
  const samples: Record<string, Sample[]> = Object.fromEntries(names.map((name) => [name, []]))
  for (let i = -WARMUP; i < RUNS; i++) {
    // Rotating order: no process always runs right after the same other one.
    const order = names.map((_, k) => names[(k + i + WARMUP) % names.length] as string)
    const run = Object.fromEntries(order.map((name) => [name, measure(node, processes[name] ?? [], env)])) as Record<string, Sample>
    if (i >= 0) for (const name of names) samples[name]?.push(run[name] as Sample)
  }
  const of = (name: string, field: keyof Sample) => (samples[name] ?? []).map((sample) => sample[field] ?? Number.NaN)
  const ms = (name: string, field: keyof Sample) => `${median(of(name, field)).toFixed(0)} ms`
  const mib = (name: string) => `${(median(of(name, 'maxRssKiB')) / 1024).toFixed(1)} MiB`
  console.log(`\ncold start, Node ${version}: ${RUNS} runs after ${WARMUP} warm-up, medians`)
  printTable(['process', 'CPU', 'wall', 'peak RSS', 'CPU ÷ node -e 0'], names.map((name) => [name, ms(name, 'cpuMs'), ms(name, 'wallMs'), mib(name), pairedRatio(of(name, 'cpuMs'), of('floor', 'cpuMs'))]))
  console.log(`then POST /v1/payments (a route not used yet): paylith ${ms('paylith', 'createCpuMs')} CPU${BEFORE === undefined ? '' : `, before ${ms('before', 'createCpuMs')}`}`)
  if (BEFORE !== undefined) console.log(`paylith ÷ before (${BEFORE}): CPU ${pairedRatio(of('paylith', 'cpuMs'), of('before', 'cpuMs'))}, peak RSS ${pairedRatio(of('paylith', 'maxRssKiB'), of('before', 'maxRssKiB'))}; import + GET + POST CPU ${pairedRatio(sum(of('paylith', 'cpuMs'), of('paylith', 'createCpuMs')), sum(of('before', 'cpuMs'), of('before', 'createCpuMs')))}`)
  for (const baseline of ['naive', 'naive+schema']) {
    console.log(`paylith ÷ ${baseline}: CPU ${pairedRatio(of('paylith', 'cpuMs'), of(baseline, 'cpuMs'))}, wall ${pairedRatio(of('paylith', 'wallMs'), of(baseline, 'wallMs'))}, peak RSS ${pairedRatio(of('paylith', 'maxRssKiB'), of(baseline, 'maxRssKiB'))}`)
  }
  return [
    { metric: `M1 cold start CPU (import + first GET that reads DynamoDB), Node ${version}`, ours: ms('paylith', 'cpuMs'), baseline: `naive: ${ms('naive', 'cpuMs')}; node -e 0: ${ms('floor', 'cpuMs')}`, ratio: pairedRatio(of('paylith', 'cpuMs'), of('naive', 'cpuMs')), target: '≤ 0.8' },
    { metric: `M1′ the same against naive+schema (one params schema, Ajv at startup), Node ${version}`, ours: ms('paylith', 'cpuMs'), baseline: `naive+schema: ${ms('naive+schema', 'cpuMs')}`, ratio: pairedRatio(of('paylith', 'cpuMs'), of('naive+schema', 'cpuMs')), target: '—' },
    { metric: `(the naive one's halves on their own: Fastify, the DynamoDB client), Node ${version}`, ours: ms('paylith', 'cpuMs'), baseline: `Fastify alone: ${ms('Fastify alone', 'cpuMs')}; DynamoDB alone: ${ms('DynamoDB alone', 'cpuMs')}`, ratio: `${pairedRatio(of('Fastify alone', 'cpuMs'), of('naive', 'cpuMs'))}; ${pairedRatio(of('DynamoDB alone', 'cpuMs'), of('naive', 'cpuMs'))} of naive`, target: '—' },
    { metric: `M2 peak RSS after that, Node ${version}`, ours: mib('paylith'), baseline: `naive: ${mib('naive')}; node -e 0: ${mib('floor')}`, ratio: pairedRatio(of('paylith', 'maxRssKiB'), of('naive', 'maxRssKiB')), target: '≤ 1.0' }
  ]
}
