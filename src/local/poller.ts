import { setTimeout as sleep } from 'node:timers/promises'

/** A running local event-source poller. */
export interface Poller {
  /** Stops polling, lets the batch in hand finish, and resolves when the loop has ended. */
  stop: () => Promise<void>
}

/**
 * Runs `pollOnce` until stopped. `pollOnce` gets the stop signal (to abort a long poll) and
 * says whether it found work; when it did not, the loop waits `idleMs` before the next poll.
 * Errors are logged and followed by a pause, so a flapping endpoint never spins the CPU.
 */
export function startPolling (
  pollOnce: (signal: AbortSignal) => Promise<boolean>,
  { idleMs, onError }: { idleMs: number; onError: (error: unknown) => void }
): Poller {
  const controller = new AbortController()
  const { signal } = controller
  const loop = (async () => {
    while (!signal.aborted) {
      let worked = false
      try {
        worked = await pollOnce(signal)
      } catch (error) {
        if (signal.aborted) break
        onError(error)
        await pause(Math.max(idleMs, 1_000), signal)
        continue
      }
      if (!worked) await pause(idleMs, signal)
    }
  })()
  return {
    stop: async () => {
      controller.abort()
      await loop
    }
  }
}

async function pause (ms: number, signal: AbortSignal): Promise<void> {
  await sleep(ms, undefined, { signal }).catch(() => {})
}
