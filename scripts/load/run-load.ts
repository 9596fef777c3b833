import type { LoadOptions } from './options.js'
import { computeReport, type LoadReport } from './report.js'
import { drain, paymentReader } from './settle.js'
import type { AppProcess, RequestRecord } from './types.js'
import { runWorkload, type WorkloadOptions, type WorkloadProgress, type WorkloadResult } from './workload.js'
import { standardSecretOf } from './app-process.js'

/** What one load run needs besides its options. */
export interface RunLoadOptions {
  app: Pick<AppProcess, 'url' | 'apiKey' | 'env' | 'lines'>
  options: Omit<LoadOptions, 'dynamodb' | 'jsonPath'>
  /** Ends the load (and then the drain) early. */
  signal?: AbortSignal
  onProgress?: (progress: WorkloadProgress) => void
  onDrain?: (unsettled: number, elapsedMs: number) => void
  /** Awaited after the load and before the drain (the chaos run's faults end first). */
  beforeDrain?: () => Promise<void>
  /** The workload's random choices (a seeded generator makes them repeatable). */
  random?: () => number
  /** Which payments the workload may send a webhook for (WorkloadOptions.webhookAllowed). */
  webhookAllowed?: WorkloadOptions['webhookAllowed']
}

/** A finished run: the report, and what it was computed from (for the invariant checks). */
export interface LoadRun {
  report: LoadReport
  records: readonly RequestRecord[]
  workload: WorkloadResult
}

/**
 * Runs the workload against a running app, drains (waits, bounded, until every created
 * payment is final or visibly waiting), then computes the report from the requests, the
 * app's log lines and the payments read back from its table.
 */
export async function runLoad ({ app, options, signal, onProgress, onDrain, beforeDrain, random, webhookAllowed }: RunLoadOptions): Promise<LoadRun> {
  const workload = await runWorkload({
    ...options,
    url: app.url,
    apiKey: app.apiKey,
    webhookSecret: standardSecretOf(app.env),
    signal,
    onProgress,
    random,
    webhookAllowed
  })
  await beforeDrain?.()
  const reader = paymentReader(app.env)
  try {
    const drained = await drain(reader, [...workload.payments.keys()], { timeoutMs: options.drainMs, signal, onProgress: onDrain })
    const report = computeReport({
      targetRate: options.rate,
      durationMs: options.durationMs,
      scheduled: workload.scheduled,
      shed: workload.shed,
      startedAt: workload.startedAt,
      endedAt: workload.endedAt,
      drainMs: drained.ms,
      drainComplete: drained.complete
    }, workload.records, app.lines(), drained.payments)
    return { report, records: workload.records, workload }
  } finally {
    reader.close()
  }
}
