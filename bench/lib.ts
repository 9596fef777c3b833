import { randomBytes } from 'node:crypto'
import { buildApp, type App } from '../src/app.js'
import { ensureResources } from '../src/aws/bootstrap.js'
import { createAwsClients } from '../src/aws/clients.js'
import { loadConfig, type Config } from '../src/config.js'
import { createDeps, type Deps } from '../src/deps.js'
import { hashApiKey } from '../src/plugins/auth.js'

/** The API key benchmarks authenticate with. */
export const BENCH_KEY = 'plk_bench_all_scopes'

/** A config on the emulator (AWS_ENDPOINT_URL) with its own table and queues. */
export function benchConfig (label: string, tableName?: string): Config {
  const suffix = `${label}-${randomBytes(3).toString('hex')}`
  return loadConfig({
    ...process.env,
    TABLE_NAME: tableName ?? `paylith-bench-${suffix}`,
    WORK_QUEUE_NAME: `paylith-bench-work-${suffix}`,
    DEAD_LETTER_QUEUE_NAME: `paylith-bench-dlq-${suffix}`,
    LOG_LEVEL: 'silent',
    API_KEYS: `${hashApiKey(BENCH_KEY)}=payments:read|payments:write|admin`
  })
}

/** The production app on the emulator, its resources created. */
export async function benchApp (config: Config): Promise<{ app: App, deps: Deps }> {
  const clients = createAwsClients(config)
  const resources = await ensureResources(clients, config)
  const deps = createDeps({ ...config, queues: { work: { name: resources.queues.work.name, url: resources.queues.work.url }, deadLetter: { name: resources.queues.deadLetter.name, url: resources.queues.deadLetter.url } } }, clients)
  const app = buildApp({ deps })
  await app.ready()
  return { app, deps }
}

/** Times `fn` `runs` times (after `warmup` untimed runs); durations in milliseconds. */
export async function sample (runs: number, warmup: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn(-1 - i)
  const durations: number[] = []
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint()
    await fn(i)
    durations.push(Number(process.hrtime.bigint() - start) / 1e6)
  }
  return durations
}

/** The p-th percentile (0-100) of some durations. */
export function percentile (values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index] ?? Number.NaN
}

/** Prints rows as an aligned Markdown table. */
export function printTable (headers: string[], rows: string[][]): void {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)))
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`
  console.log(line(headers))
  console.log(line(widths.map((w) => '-'.repeat(w))))
  for (const row of rows) console.log(line(row))
}
