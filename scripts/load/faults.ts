import { renameSync, writeFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Faults } from '../../src/local/faults.js'
import type { AppProcess } from './types.js'

/** One fault a chaos run injects. */
export type Fault =
  /** kill -9 of the app process, then a restart on the same data (its duration is the restart's). */
  | { kind: 'kill' }
  /** Every provider call fails, as in an outage. */
  | { kind: 'provider-down' }
  /** Every provider call takes this long. */
  | { kind: 'provider-latency', latencyMs: number }
  /** That share of DynamoDB calls fail with a throttling error. */
  | { kind: 'dynamodb-throttle', rate: number }
  /** The SQS pollers receive with a short visibility: messages in hand are delivered again. */
  | { kind: 'sqs-duplicates', visibilityTimeoutSeconds: number }
  /** Anything else run at its time (a webhook storm); its duration is how long it took. */
  | { kind: 'action', name: string, run: () => Promise<unknown> }

/** A fault at a time: from `atMs` after the schedule starts, for `durationMs` (file faults). */
export interface ScheduledFault {
  atMs: number
  durationMs: number
  fault: Fault
  /**
   * A file fault meant to reach the app whatever a restart costs: its window is lengthened by
   * the time the app spent restarting within it (a slow machine's restart could otherwise take
   * the whole window, and the fault would be reported as injected while the app never saw it).
   */
  outlastsRestarts?: boolean
}

/** What was injected, when: a row of the report's "faults injected" table. */
export interface InjectedFault {
  fault: string
  /** What it was, in a few words (`rate 0.2`, `1500 ms`). */
  detail: string
  /** ms after the schedule started. */
  startedMs: number
  endedMs: number
  ok: boolean
  error?: string
}

/** Options of runFaultSchedule. */
export interface FaultScheduleOptions {
  schedule: readonly ScheduledFault[]
  /** The app's LOCAL_FAULTS_FILE, rewritten (whole, by rename) whenever the faults in force change. */
  faultsFile: string
  app: Pick<AppProcess, 'crashAndRestart'>
  /** Stops the schedule early: pending faults are not started, the file is cleared. */
  signal?: AbortSignal
}

/**
 * Runs a fault schedule: at each fault's time, a kill -9 and restart of the app, an action, or
 * a change to the faults file (the faults in force are those whose window is open; overlapping
 * ones combine: down if any says so, the highest latency and rate, the shortest visibility).
 * Resolves when every fault has ended, with what was injected when; the faults file ends empty.
 */
export async function runFaultSchedule ({ schedule, faultsFile, app, signal }: FaultScheduleOptions): Promise<InjectedFault[]> {
  const started = Date.now()
  const elapsed = (): number => Date.now() - started
  const injected: InjectedFault[] = []
  const open = new Set<ScheduledFault>()
  // When the app was restarting (`toMs` unset while under way), and the restart under way if any.
  const restarts: Array<{ fromMs: number, toMs?: number }> = []
  let restarting: Promise<void> | undefined
  /** How long the app spent restarting since `sinceMs` (a restart under way counts so far). */
  const restartedSince = (sinceMs: number): number => restarts.reduce((sum, { fromMs, toMs }) => sum + Math.max(0, (toMs ?? elapsed()) - Math.max(fromMs, sinceMs)), 0)
  writeFaults(faultsFile, {})

  const runOne = async (entry: ScheduledFault): Promise<void> => {
    await sleep(Math.max(0, entry.atMs - elapsed()), undefined, { signal }).catch(() => {})
    if (signal?.aborted === true) return
    const { fault } = entry
    const row: InjectedFault = { fault: nameOf(fault), detail: detailOf(entry), startedMs: elapsed(), endedMs: 0, ok: true }
    injected.push(row)
    try {
      if (fault.kind === 'kill') {
        const restart: { fromMs: number, toMs?: number } = { fromMs: elapsed() }
        restarts.push(restart)
        restarting = app.crashAndRestart()
        try {
          await restarting
        } finally {
          restart.toMs = elapsed()
          restarting = undefined
        }
      } else if (fault.kind === 'action') {
        await fault.run()
      } else {
        open.add(entry)
        writeFaults(faultsFile, combine([...open].map((e) => e.fault)))
        const openedMs = elapsed()
        // Ends durationMs after it opened, plus (when it outlasts restarts) the time the app spent restarting since.
        const endMs = (): number => openedMs + entry.durationMs + (entry.outlastsRestarts === true ? restartedSince(openedMs) : 0)
        // (signal.aborted is read through a function: the check above would narrow it to false for good.)
        const aborted = (): boolean => signal?.aborted === true
        while (!aborted() && elapsed() < endMs()) {
          await sleep(endMs() - elapsed(), undefined, { signal }).catch(() => {})
          if (entry.outlastsRestarts === true) await restarting?.catch(() => {})
        }
        open.delete(entry)
        writeFaults(faultsFile, combine([...open].map((e) => e.fault)))
      }
    } catch (error) {
      row.ok = false
      row.error = (error as Error).message
    }
    row.endedMs = elapsed()
  }

  try {
    await Promise.all(schedule.map(runOne))
  } finally {
    writeFaults(faultsFile, {})
  }
  return injected.sort((a, b) => a.startedMs - b.startedMs)
}

/** The faults file's content for the file faults in force. */
export function combine (faults: readonly Fault[]): Faults {
  const combined: Faults = {}
  for (const fault of faults) {
    if (fault.kind === 'provider-down') combined.provider = { ...combined.provider, down: true }
    if (fault.kind === 'provider-latency') combined.provider = { ...combined.provider, latencyMs: Math.max(fault.latencyMs, combined.provider?.latencyMs ?? 0) }
    if (fault.kind === 'dynamodb-throttle') combined.dynamodb = { throttleRate: Math.max(fault.rate, combined.dynamodb?.throttleRate ?? 0) }
    if (fault.kind === 'sqs-duplicates') combined.sqs = { visibilityTimeoutSeconds: Math.min(fault.visibilityTimeoutSeconds, combined.sqs?.visibilityTimeoutSeconds ?? Infinity) }
  }
  return combined
}

/** The injected faults as a printable table. */
export function formatInjectedFaults (injected: readonly InjectedFault[]): string {
  const width = Math.max('fault'.length, ...injected.map((row) => row.fault.length))
  const detailWidth = Math.max('detail'.length, ...injected.map((row) => row.detail.length))
  const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`.padStart(8)
  return [
    `${'fault'.padEnd(width)}  ${'detail'.padEnd(detailWidth)}      from        to  result`,
    ...injected.map((row) => `${row.fault.padEnd(width)}  ${row.detail.padEnd(detailWidth)}  ${seconds(row.startedMs)}  ${seconds(row.endedMs)}  ${row.ok ? 'ok' : `failed: ${row.error ?? ''}`}`)
  ].join('\n')
}

/** Writes the file whole: a reader never sees half of it. */
function writeFaults (path: string, faults: Faults): void {
  writeFileSync(`${path}.tmp`, JSON.stringify(faults))
  renameSync(`${path}.tmp`, path)
}

function nameOf (fault: Fault): string {
  return fault.kind === 'action' ? fault.name : fault.kind
}

function detailOf ({ durationMs, fault }: ScheduledFault): string {
  switch (fault.kind) {
    case 'kill': return 'kill -9, restart'
    case 'action': return ''
    case 'provider-down': return `for ${durationMs} ms`
    case 'provider-latency': return `${fault.latencyMs} ms, for ${durationMs} ms`
    case 'dynamodb-throttle': return `rate ${fault.rate}, for ${durationMs} ms`
    case 'sqs-duplicates': return `visibility ${fault.visibilityTimeoutSeconds} s, for ${durationMs} ms`
  }
}
