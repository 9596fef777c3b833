/** One caller waiting in a batch. */
interface Waiting<T> {
  item: T
  resolve: () => void
  reject: (error: unknown) => void
}

/** How a batcher gathers items. */
export interface BatcherOptions<T> {
  /** Items per batch at most: a batch this full goes at once. */
  maxSize: number
  /** How long the first item of a batch waits for others. */
  lingerMs: number
  /** Does a batch; answers each item's outcome in order: undefined when done, else the error its caller gets. */
  run: (items: readonly T[]) => Promise<ReadonlyArray<Error | undefined>>
}

/**
 * Coalesces calls made close together into batches: an item waits at most `lingerMs` (or until
 * `maxSize` are waiting), then goes with the others in one `run`, and each caller settles with
 * its own item's outcome. A `run` that throws fails every item of its batch.
 */
export function createBatcher<T> ({ maxSize, lingerMs, run }: BatcherOptions<T>): (item: T) => Promise<void> {
  let waiting: Array<Waiting<T>> = []
  let timer: NodeJS.Timeout | undefined
  const flush = (): void => {
    clearTimeout(timer)
    timer = undefined
    const batch = waiting
    waiting = []
    run(batch.map(({ item }) => item)).then((outcomes) => {
      batch.forEach(({ resolve, reject }, index) => {
        const error = outcomes[index]
        if (error === undefined) resolve()
        else reject(error)
      })
    }, (error: unknown) => {
      for (const { reject } of batch) reject(error)
    })
  }
  return async (item) => new Promise<void>((resolve, reject) => {
    waiting.push({ item, resolve, reject })
    if (waiting.length >= maxSize) flush()
    else timer ??= setTimeout(flush, lingerMs)
  })
}
