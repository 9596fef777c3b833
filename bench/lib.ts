import { randomBytes } from 'node:crypto'
import { bootstrapLocal } from '../src/local/bootstrap.js'
import { loadConfig, type Config } from '../src/config/load.js'
import { createService, type Service } from '../src/service.js'
import { hashApiKey } from '../src/config/api-keys.js'

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

/** The production service on the emulator, its resources created and its app ready. */
export async function benchService (config: Config): Promise<Service> {
  const { config: complete, clients } = await bootstrapLocal(config)
  // Metric documents are built as in production but not printed over the benchmark's table.
  const service = createService(complete, { ...clients, metricsDestination: { write: () => true } })
  await service.app.ready()
  return service
}

/**
 * Times several operations, interleaved: run i of every operation before run i + 1 of any, so
 * warm-up and noise fall on all alike. Each gets the run index (negative while warming up).
 * Returns each operation's durations in milliseconds.
 */
export async function interleave<K extends string> (runs: number, warmup: number, operations: Record<K, (i: number) => Promise<unknown>>): Promise<Record<K, number[]>> {
  const names = Object.keys(operations) as K[]
  const timings = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<K, number[]>
  for (let i = -warmup; i < runs; i++) {
    for (const name of names) {
      const start = process.hrtime.bigint()
      await operations[name](i)
      if (i >= 0) timings[name].push(Number(process.hrtime.bigint() - start) / 1e6)
    }
  }
  return timings
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

/** One line of the summary table: a metric, our figure, the baseline's, and the target. */
export interface BenchRow {
  metric: string
  ours: string
  baseline: string
  ratio: string
  target: string
}

/** Formats a ratio to two decimals. */
export const ratioOf = (ours: number, baseline: number): string => (ours / baseline).toFixed(2)

/** The median of some values. */
export const median = (values: number[]): number => percentile(values, 50)
