import { createHash } from 'node:crypto'
import { canonicalJson } from './canonical-json.js'
import { IdempotencyKeyInFlightError, IdempotencyKeyInvalidError, IdempotencyKeyMissingError, IdempotencyKeyReusedError } from './errors.js'
import { unixSeconds } from './time.js'

/** Longest Idempotency-Key accepted, in characters. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255

/**
 * Reads an `Idempotency-Key` header: the structured-field string form (`"abc"`) or the bare
 * form (`abc`). Returns the key, or why it is not acceptable. A bare key must not hold a comma:
 * proxies (API Gateway's HTTP API among them) join repeated headers into one with commas, so
 * `a,b` may be two keys; a key with a comma is sent quoted (`"a,b"`).
 * NOTE: https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/
 */
export function parseIdempotencyKey (header: string): { key: string } | { problem: string } {
  let key = header.trim()
  if (key.length >= 2 && key.startsWith('"') && key.endsWith('"')) {
    key = key.slice(1, -1)
    if (/(?<!\\)"/.test(key)) return { problem: 'a quoted key must not contain an unescaped quote' }
    key = key.replace(/\\(["\\])/g, '$1')
  } else if (key.includes(',')) {
    return { problem: 'several keys in one header (a bare key must not contain a comma; quote a key that does)' }
  }
  if (key.length === 0) return { problem: 'the key is empty' }
  if (key.length > MAX_IDEMPOTENCY_KEY_LENGTH) return { problem: `the key is longer than ${MAX_IDEMPOTENCY_KEY_LENGTH} characters` }
  if (!/^[\x20-\x7E]+$/.test(key)) return { problem: 'the key must be printable ASCII' }
  return { key }
}

/** Seconds a client should wait before retrying a key that is still in flight. */
export const IN_FLIGHT_RETRY_AFTER_SECONDS = 1

/**
 * A request's Idempotency-Key header as a key.
 * @param headers every Idempotency-Key header the request carries, as received (not merged)
 * @param operation names the request in the message (`POST /v1/payments`)
 * @throws IdempotencyKeyMissingError without a header, IdempotencyKeyInvalidError for several or one that is not a key
 */
export function requireIdempotencyKey (headers: string | readonly string[] | undefined, operation: string): string {
  const values = headers === undefined ? [] : typeof headers === 'string' ? [headers] : headers
  const [header] = values
  if (header === undefined) throw new IdempotencyKeyMissingError(`${operation} needs an Idempotency-Key header`)
  if (values.length > 1) {
    const problem = `${values.length} Idempotency-Key headers; send exactly one`
    throw new IdempotencyKeyInvalidError(`Idempotency-Key is not valid: ${problem}`, { problem })
  }
  const parsed = parseIdempotencyKey(header)
  if ('problem' in parsed) throw new IdempotencyKeyInvalidError(`Idempotency-Key is not valid: ${parsed.problem}`, { problem: parsed.problem })
  return parsed.key
}

/** A request body's fingerprint: the SHA-256 (hex) of its canonical JSON, so key order does not matter. */
export function requestFingerprint (body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex')
}

/** Who and what a request's Idempotency-Key is about: the caller's key id, the key, the body's fingerprint. */
export interface IdempotencyClaim {
  scope: string
  key: string
  fingerprint: string
}

/** A completed request remembered under its key: enough to replay the original answer. */
export interface IdempotencyRecord extends IdempotencyClaim {
  /** The id its answer names, of what the request made or changed: a payment, a refund or a settlement. */
  resourceId: string
  statusCode: number
  /** The original response body, as JSON text. */
  body: string
  createdAt: string
  /** Unix seconds; also the table's TTL attribute. Checked by the code, since TTL deletion lags. */
  expiresAt: number
}

/** The record a request leaves under its key when it completes at `now`, live for `ttlSeconds`. */
export function newIdempotencyRecord (
  claim: IdempotencyClaim,
  response: Pick<IdempotencyRecord, 'resourceId' | 'statusCode' | 'body'>,
  now: Date,
  ttlSeconds: number
): IdempotencyRecord {
  return { ...claim, ...response, createdAt: now.toISOString(), expiresAt: unixSeconds(now) + ttlSeconds }
}

/** Whether a record still counts at `now`. */
export function isLive (record: Pick<IdempotencyRecord, 'expiresAt'>, now: Date): boolean {
  return record.expiresAt * 1000 > now.getTime()
}

/**
 * Why a key could not be claimed: a request holding it is still being written, or one completed
 * under it (its record, unless it expired or vanished since). `cause` is what the store saw.
 */
export type TakenKey =
  | { by: 'in-flight', cause?: unknown }
  | { by: 'completed', record: IdempotencyRecord | undefined, cause?: unknown }

/**
 * What a request gets for a key that is taken: the record to replay (same key, same body), or
 * @throws IdempotencyKeyReusedError for the same key with another body (422)
 * @throws IdempotencyKeyInFlightError while the first request is in flight, or when the record
 *   expired or vanished between the write and the read (409: a retry gets the key)
 */
export function replayFor (claim: IdempotencyClaim, taken: TakenKey, now: Date): IdempotencyRecord {
  const inFlight = { key: claim.key, retryAfterSeconds: IN_FLIGHT_RETRY_AFTER_SECONDS, ...(taken.cause !== undefined && { cause: taken.cause }) }
  if (taken.by === 'in-flight') {
    throw new IdempotencyKeyInFlightError('a request with this Idempotency-Key is still being processed; retry shortly', inFlight)
  }
  const { record } = taken
  if (record === undefined || !isLive(record, now)) {
    throw new IdempotencyKeyInFlightError('the Idempotency-Key changed hands while this request ran; retry shortly', inFlight)
  }
  if (record.fingerprint !== claim.fingerprint) {
    throw new IdempotencyKeyReusedError('this Idempotency-Key was used with a different request body; use a new key for a new request', { key: claim.key, resourceId: record.resourceId })
  }
  return record
}

/**
 * A bounded, least-recently-used memory of completed records, so a replay on a warm instance
 * costs no round trip. Completed records never change, so serving them from memory is exact
 * until they expire, which is checked on every hit.
 */
export class IdempotencyCache {
  readonly #entries = new Map<string, IdempotencyRecord>()
  readonly #capacity: number

  constructor (capacity = 1_000) {
    this.#capacity = capacity
  }

  get (scope: string, key: string, now: Date): IdempotencyRecord | undefined {
    const id = `${scope}#${key}`
    const record = this.#entries.get(id)
    if (record === undefined) return undefined
    this.#entries.delete(id)
    if (!isLive(record, now)) return undefined
    this.#entries.set(id, record)
    return record
  }

  set (record: IdempotencyRecord): void {
    const id = `${record.scope}#${record.key}`
    this.#entries.delete(id)
    this.#entries.set(id, record)
    if (this.#entries.size > this.#capacity) {
      const oldest = this.#entries.keys().next().value
      if (oldest !== undefined) this.#entries.delete(oldest)
    }
  }
}
