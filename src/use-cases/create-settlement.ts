import { uploadKey } from '../aws/resources.js'
import { newIdempotencyRecord, requestFingerprint } from '../domain/idempotency.js'
import { emptyCounts } from '../domain/settlements/reconcile.js'
import type { Settlement, SettlementStore } from '../store/settlements.js'
import { idempotentAnswers, type ReplayedResponse } from './idempotent-answers.js'

/** The scope of settlement keys: apart from payment creation's and refunds', so a key used for both is two keys. */
export const settlementKeyScope = (apiKeyId: string): string => `${apiKeyId}#settlements`

/** What `POST /v1/settlements` answers: the settlement, waiting for its file, and where to PUT it until when. */
export interface SettlementUpload {
  id: string
  status: 'awaiting_upload'
  fileKey: string
  uploadUrl: string
  expiresAt: string
}

/** What a create did: made the settlement, or replayed the answer of the request that did. */
export interface CreateSettlementResult {
  settlementId: string
  statusCode: number
  body: SettlementUpload
  replayed: boolean
}

/** One create request: which provider's file is coming and its name, under the caller's (`scope`) Idempotency-Key. */
export interface CreateSettlementRequest {
  input: { provider: string, fileName: string }
  scope: string
  key: string
}

/**
 * Creates settlements awaiting their file idempotently, with payment creation's semantics: a new
 * key writes the settlement and the key's record (with the answer) in one transaction; a key used
 * before replays that answer, or is refused (another body: 422; still in flight: 409).
 *
 * A replay's upload URL is signed again, for what is left of the original window: the URL is
 * derived (the key, the window, the signer's credentials), not the settlement's state, and the
 * original's may have died with the credentials that signed it (a role session can end before
 * its 15 minutes). The window itself never moves, so a replay never extends the upload. Past it,
 * the replay is the original answer as it was: its URL has expired, as its `expiresAt` says.
 */
export function createSettlementUseCase (deps: {
  settlements: Pick<SettlementStore, 'createIdempotently'>
  ids: () => string
  clock: () => Date
  idempotencyTtlSeconds: number
  /** Signs a PUT of one object for so many seconds. */
  uploadUrl: (key: string, expiresInSeconds: number) => Promise<string>
  /** How long an upload URL works: the settlement's upload window. */
  uploadSeconds: number
}): (request: CreateSettlementRequest) => Promise<CreateSettlementResult> {
  const answers = idempotentAnswers<SettlementUpload>(deps.clock)

  const replayed = async ({ resourceId: settlementId, statusCode, body }: ReplayedResponse<SettlementUpload>): Promise<CreateSettlementResult> => {
    const left = Math.floor((Date.parse(body.expiresAt) - deps.clock().getTime()) / 1000)
    const uploadUrl = left >= 1 ? await deps.uploadUrl(body.fileKey, left) : body.uploadUrl
    return { settlementId, statusCode, body: { ...body, uploadUrl }, replayed: true }
  }

  return async ({ input, scope, key }) => {
    const claim = { scope, key, fingerprint: requestFingerprint(input) }
    const cached = answers.cached(claim)
    if (cached !== undefined) return replayed(cached)

    const now = deps.clock()
    const id = deps.ids()
    const fileKey = uploadKey(input.provider, id, input.fileName)
    const expiresAt = new Date(now.getTime() + deps.uploadSeconds * 1000).toISOString()
    const body: SettlementUpload = { id, status: 'awaiting_upload', fileKey, uploadUrl: await deps.uploadUrl(fileKey, deps.uploadSeconds), expiresAt }
    const settlement: Settlement = { id, provider: input.provider, fileKey, status: 'awaiting_upload', rowsProcessed: 0, counts: emptyCounts(), totals: [], startedAt: now.toISOString(), uploadExpiresAt: expiresAt }
    const record = newIdempotencyRecord(claim, { resourceId: id, statusCode: 201, body: JSON.stringify(body) }, now, deps.idempotencyTtlSeconds)
    const outcome = await deps.settlements.createIdempotently(settlement, record)
    if (!outcome.created) return replayed(answers.replay(claim, outcome))

    answers.remember(record)
    return { settlementId: id, statusCode: 201, body, replayed: false }
  }
}
