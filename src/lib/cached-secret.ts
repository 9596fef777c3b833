import { DependencyUnavailableError } from '../domain/errors.js'

/**
 * How a refresh ended: `fetched` read the secret again just now; `recent` read it within the
 * minimum interval, so nothing new can be known yet; `unavailable` failed to read it, now or
 * at the last try within the interval, so the value held may be out of date.
 */
export const RefreshOutcome = { fetched: 'fetched', recent: 'recent', unavailable: 'unavailable' } as const

/** One refresh outcome. */
export type RefreshOutcome = (typeof RefreshOutcome)[keyof typeof RefreshOutcome]

/** A secret read from a store (Secrets Manager), parsed, and cached. */
export interface CachedSecret<T> {
  /**
   * The parsed value: the cached one while it is fresh, read again once it is not. When the
   * read fails the last good value is kept.
   * @throws DependencyUnavailableError when no value was ever read
   */
  current: () => Promise<T>
  /**
   * After a lookup in the value missed: reads the secret again unless it was tried within the
   * minimum interval, so a flood of misses makes at most one read per interval. `previous` is
   * the value held before, to tell what changed.
   */
  refresh: () => Promise<{ outcome: RefreshOutcome, value: T | undefined, previous: T | undefined }>
}

/** Options of cachedSecret. */
export interface CachedSecretOptions<T> {
  /** What the secret holds, in words, for errors and logs ("API keys", "webhook secrets"). */
  name: string
  /** Reads the secret's text. */
  fetch: () => Promise<string>
  /** Turns the text into the value. @throws Error naming what is wrong, never echoing the secret */
  parse: (text: string) => T
  clock: () => Date
  ttlMs: number
  minRefreshIntervalMs: number
  /** Told of every failed read (the store failed, or the text did not parse); `cached` says whether a value is kept. */
  onFailure?: (error: unknown, context: { cached: boolean }) => void
}

/**
 * A secret cached for `ttlMs` and read again after a miss at most once per
 * `minRefreshIntervalMs` (counted from the last read, successful or not): a rotation or a new
 * entry takes effect within a request, while a flood of bad requests cannot become a flood of
 * reads. A failed read keeps the last good value, and the next read waits out the interval.
 */
export function cachedSecret<T> ({ name, fetch, parse, clock, ttlMs, minRefreshIntervalMs, onFailure }: CachedSecretOptions<T>): CachedSecret<T> {
  let cached: { value: T, fetchedAt: number } | undefined
  let lastTry: { at: number, failed: boolean } | undefined
  let inFlight: Promise<void> | undefined

  const read = async (): Promise<void> => {
    inFlight ??= (async () => {
      const at = clock().getTime()
      try {
        const value = parse(await fetch())
        cached = { value, fetchedAt: at }
        lastTry = { at, failed: false }
      } catch (error) {
        lastTry = { at, failed: true }
        onFailure?.(error, { cached: cached !== undefined })
      } finally {
        inFlight = undefined
      }
    })()
    return inFlight
  }
  const triedWithin = (intervalMs: number): boolean => lastTry !== undefined && clock().getTime() - lastTry.at < intervalMs

  return {
    async current () {
      const fresh = cached !== undefined && clock().getTime() - cached.fetchedAt < ttlMs
      if (!fresh && !(lastTry?.failed === true && triedWithin(minRefreshIntervalMs))) await read()
      if (cached === undefined) throw new DependencyUnavailableError(`the ${name} could not be read from Secrets Manager; try again in a minute`, { dependency: 'secrets-manager' })
      return cached.value
    },
    async refresh () {
      const previous = cached?.value
      if (triedWithin(minRefreshIntervalMs)) {
        return { outcome: lastTry?.failed === true ? RefreshOutcome.unavailable : RefreshOutcome.recent, value: previous, previous }
      }
      await read()
      return { outcome: lastTry?.failed === true ? RefreshOutcome.unavailable : RefreshOutcome.fetched, value: cached?.value, previous }
    }
  }
}

/** A `parse` for cachedSecret from a parser that collects problems: its value, or one error naming every problem. */
export function throwingProblems<T> (parse: (text: string, problems: string[]) => T): (text: string) => T {
  return (text) => {
    const problems: string[] = []
    const value = parse(text, problems)
    if (problems.length > 0) throw new Error(problems.join('; '))
    return value
  }
}
