import { setTimeout as sleep } from 'node:timers/promises'

/** How an open-loop schedule runs: a start every 1000 / rate ms for `durationMs`, at most `maxInFlight` at once. */
export interface OpenLoopOptions {
  /** Starts per second. */
  rate: number
  durationMs: number
  /** Starts due while this many are still running are shed (counted, not sent): the client-side bound. */
  maxInFlight: number
  /** Ends the schedule early; what is in flight is still awaited. */
  signal?: AbortSignal
  /** Called for each start that is shed. */
  onShed?: () => void
  /** The clock, epoch ms. */
  now?: () => number
  /** Waits until the next start is due. */
  wait?: (ms: number, signal?: AbortSignal) => Promise<void>
}

/** What an open-loop run did. */
export interface OpenLoopResult {
  /** Starts that came due before the end (or the abort). */
  scheduled: number
  /** Starts that were made. */
  started: number
  /** Starts that came due while `maxInFlight` were running, and were not made. */
  shed: number
  startedAt: number
  /** When the schedule ended (not when the last start finished). */
  endedAt: number
}

/** Waits `ms`, or until `signal` aborts, without throwing. */
async function pause (ms: number, signal?: AbortSignal): Promise<void> {
  await sleep(ms, undefined, { signal }).catch(() => {})
}

/**
 * Runs `start` on a fixed schedule (open loop): start i is due at i × 1000 / rate ms, whether
 * or not the earlier ones have finished, so a slow server meets the offered load instead of
 * slowing the client down (no coordinated omission). A start that falls behind is made as soon
 * as possible. Resolves when the schedule has ended and every start has settled.
 */
export async function runOpenLoop (options: OpenLoopOptions, start: (index: number) => Promise<void>): Promise<OpenLoopResult> {
  const { rate, durationMs, maxInFlight, signal, onShed, now = Date.now, wait = pause } = options
  if (!(rate > 0) || !(maxInFlight >= 1)) throw new RangeError('rate must be above 0 and maxInFlight at least 1')
  const running = new Set<Promise<void>>()
  const startedAt = now()
  const intervalMs = 1000 / rate
  let scheduled = 0
  let shed = 0
  const aborted = (): boolean => signal?.aborted === true
  for (let index = 0; ; index++) {
    const due = startedAt + index * intervalMs
    if (due - startedAt >= durationMs || aborted()) break
    const ahead = due - now()
    if (ahead > 0) await wait(ahead, signal)
    if (aborted()) break
    scheduled++
    if (running.size >= maxInFlight) {
      shed++
      onShed?.()
      continue
    }
    // A start records its own outcome (a request that fails is a record, not an exception).
    const run: Promise<void> = start(index).finally(() => { running.delete(run) })
    running.add(run)
  }
  const endedAt = now()
  await Promise.all([...running])
  return { scheduled, started: scheduled - shed, shed, startedAt, endedAt }
}
