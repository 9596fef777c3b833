import { createHash } from 'node:crypto'
import { RefreshOutcome, cachedSecret, throwingProblems, type CachedSecretOptions } from '../lib/cached-secret.js'

/** What an API key may be allowed to do. */
export const SCOPES = ['payments:read', 'payments:write', 'admin'] as const

/** One scope. */
export type Scope = (typeof SCOPES)[number]

/** A configured API key: never the key itself, only its SHA-256 and its scopes. */
export interface ApiKey {
  /** A short, non-secret id for the key (the first 16 hex digits of its hash), for logs and scoping. */
  id: string
  sha256: Buffer
  scopes: ReadonlySet<Scope>
}

/** The SHA-256 hex of an API key: what API_KEYS holds. */
export function hashApiKey (key: string): string {
  return createHash('sha256').update(key).digest('hex')
}

/** The configured key for a SHA-256 hex and its scopes. */
export function apiKeyFromHash (sha256Hex: string, scopes: Iterable<Scope>): ApiKey {
  return { id: sha256Hex.slice(0, 16).toLowerCase(), sha256: Buffer.from(sha256Hex, 'hex'), scopes: new Set(scopes) }
}

/**
 * Parses `API_KEYS` (or the same text from `source`, the secret it was read from). Problems
 * name the entry by position and never echo it, in case someone pasted a raw key where its
 * hash belongs.
 */
export function parseApiKeys (value: string, problems: string[], source = 'API_KEYS'): ApiKey[] {
  const keys: ApiKey[] = []
  const entries = value.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '')
  entries.forEach((entry, index) => {
    const where = `${source} entry ${index + 1}`
    const [hash = '', scopeList = '', ...rest] = entry.split('=')
    if (!/^[0-9a-fA-F]{64}$/.test(hash) || rest.length > 0) {
      problems.push(`${where}: expected <sha256 hex of the key (64 hex digits)>=<scope>|<scope>, found something else (not shown, it may be a secret)`)
      return
    }
    const scopes = scopeList.split('|').map((scope) => scope.trim())
    const unknown = scopes.filter((scope) => !(SCOPES as readonly string[]).includes(scope))
    if (unknown.length > 0 || scopeList === '') {
      problems.push(`${where}: expected scopes from ${SCOPES.join(', ')} separated by |, found ${JSON.stringify(scopeList)}`)
      return
    }
    keys.push(apiKeyFromHash(hash, scopes as Scope[]))
  })
  return keys
}

/** Where the auth hook gets the keys it accepts. */
export interface ApiKeySource {
  /**
   * The configured keys (possibly cached).
   * @throws DependencyUnavailableError when they come from Secrets Manager and none could be read
   */
  current: () => Promise<readonly ApiKey[]>
  /**
   * After a presented key matched none: the keys read again if allowed (at most once a minute),
   * in case it was added since; `unchanged` when nothing new can be known, `unavailable` when
   * reading them failed (now or at the last try), so an unknown key cannot be told from a new one.
   */
  refreshAfterMiss: () => Promise<readonly ApiKey[] | 'unchanged' | 'unavailable'>
}

/** Keys fixed by configuration (`API_KEYS`). */
export function staticApiKeys (keys: readonly ApiKey[]): ApiKeySource {
  return {
    current: async () => keys,
    refreshAfterMiss: async () => 'unchanged'
  }
}

/**
 * Keys kept in a Secrets Manager secret (`API_KEYS_SECRET_ARN`, the text of `API_KEYS`), so
 * their number is not bounded by Lambda's 4 KB of environment: cached for `ttlMs`, read again
 * after an unknown key at most once per `minRefreshIntervalMs`. A secret that does not parse,
 * or holds no key, is refused whole and the last good keys stay in use.
 */
export function cachedApiKeys ({ secretArn, fetch, clock, ttlMs, minRefreshIntervalMs, onFailure }: {
  /** The secret, named in every problem with its text. */
  secretArn: string
  fetch: () => Promise<string>
  clock: () => Date
  ttlMs: number
  minRefreshIntervalMs: number
  onFailure?: CachedSecretOptions<readonly ApiKey[]>['onFailure']
}): ApiKeySource {
  const source = `API_KEYS_SECRET_ARN secret ${secretArn}`
  const cache = cachedSecret<readonly ApiKey[]>({
    name: 'API keys',
    fetch,
    parse: throwingProblems((text, problems) => {
      const keys = parseApiKeys(text, problems, source)
      if (problems.length === 0 && keys.length === 0) problems.push(`${source}: expected comma-separated <sha256 hex of the key>=<scope>|<scope> entries, found none`)
      return keys
    }),
    clock,
    ttlMs,
    minRefreshIntervalMs,
    ...(onFailure !== undefined && { onFailure })
  })
  return {
    current: cache.current,
    async refreshAfterMiss () {
      const { outcome, value } = await cache.refresh()
      if (outcome === RefreshOutcome.unavailable) return 'unavailable'
      return outcome === RefreshOutcome.fetched && value !== undefined ? value : 'unchanged'
    }
  }
}
