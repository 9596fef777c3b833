import { IdempotencyCache, replayFor, type IdempotencyClaim, type IdempotencyRecord, type TakenKey } from '../domain/idempotency.js'

/** The answer a write gets, kept with its key so that a replay answers the same. */
export interface CreatedResponse<Body> {
  statusCode: number
  body: Body
}

/** An answer given again: what the request that completed under the key was answered. */
export interface ReplayedResponse<Body> extends CreatedResponse<Body> {
  /** The id the original answer names (the record's resourceId). */
  resourceId: string
  replayed: true
}

/** The per-instance side of an idempotent write: answers replayed, completed records remembered. */
export interface IdempotentAnswers<Body> {
  /** The answer this instance remembers for the claim's key (replayed, or refused as `replayFor` says), if it remembers one. */
  cached: (claim: IdempotencyClaim) => ReplayedResponse<Body> | undefined
  /** The answer for a key the store found taken: replayed, or refused as `replayFor` says. */
  replay: (claim: IdempotencyClaim, taken: TakenKey) => ReplayedResponse<Body>
  /** Remembers the record a write just completed. */
  remember: (record: IdempotencyRecord) => void
}

/**
 * What payment creation, cancels and refunds share about Idempotency-Keys: completed records
 * kept in a bounded per-instance cache (so a replay on a warm instance costs no round trip), and
 * a taken key answered with its stored response, or refused (another request: 422; still in
 * flight: 409).
 */
export function idempotentAnswers<Body> (clock: () => Date): IdempotentAnswers<Body> {
  const cache = new IdempotencyCache()
  const answer = (record: IdempotencyRecord): ReplayedResponse<Body> => {
    cache.set(record)
    return { resourceId: record.resourceId, statusCode: record.statusCode, body: JSON.parse(record.body) as Body, replayed: true }
  }
  return {
    cached (claim) {
      const record = cache.get(claim.scope, claim.key, clock())
      return record === undefined ? undefined : answer(replayFor(claim, { by: 'completed', record }, clock()))
    },
    replay: (claim, taken) => answer(replayFor(claim, taken, clock())),
    remember: (record) => { cache.set(record) }
  }
}
