/** One caller waiting in a batch. */
interface Waiting<T> {
  item: T
  resolve: () => void
  reject: (error: unknown) => void
}

/** How a batcher gathers items. */
export interface BatcherOptions<T> {
  /** Items per batch at most. */
  maxSize: number
  /** Batches running at once at most; items that come meanwhile wait and go together. */
  maxConcurrent: number
  /** Does a batch; answers each item's outcome in order: undefined when done, else the error its caller gets. */
  run: (items: readonly T[]) => Promise<ReadonlyArray<Error | undefined>>
}

/**
 * Coalesces calls into batches without delaying any: an item goes at once (with whatever else
 * came in the same tick) while fewer than `maxConcurrent` batches run; otherwise it waits for
 * one to end and goes with the others that waited. So a lone call costs nothing extra, and a
 * burst becomes a few full batches. Each caller settles with its own item's outcome; a `run`
 * that throws fails every item of its batch.
 */
export function createBatcher<T> ({ maxSize, maxConcurrent, run }: BatcherOptions<T>): (item: T) => Promise<void> {
  const waiting: Array<Waiting<T>> = []
  let running = 0
  let scheduled = false
  const pump = (): void => {
    scheduled = false
    while (running < maxConcurrent && waiting.length > 0) {
      const batch = waiting.splice(0, maxSize)
      running++
      run(batch.map(({ item }) => item)).then((outcomes) => {
        batch.forEach(({ resolve, reject }, index) => {
          const error = outcomes[index]
          if (error === undefined) resolve()
          else reject(error)
        })
      }, (error: unknown) => {
        for (const { reject } of batch) reject(error)
      }).finally(() => {
        running--
        pump()
      })
    }
  }
  return async (item) => new Promise<void>((resolve, reject) => {
    waiting.push({ item, resolve, reject })
    // After this tick: what else is submitted in it goes in the same batch.
    if (!scheduled) {
      scheduled = true
      queueMicrotask(pump)
    }
  })
}
