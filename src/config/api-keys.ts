import { createHash } from 'node:crypto'

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
 * Parses `API_KEYS`. Problems name the entry by position and never echo it, in case someone
 * pasted a raw key where its hash belongs.
 */
export function parseApiKeys (value: string, problems: string[]): ApiKey[] {
  const keys: ApiKey[] = []
  const entries = value.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '')
  entries.forEach((entry, index) => {
    const where = `API_KEYS entry ${index + 1}`
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
