import * as Type from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Deps } from '../../deps.js'
import { NotFoundError } from '../../domain/errors.js'
import { ProblemResponse } from '../../http/schemas.js'
import { requireIdempotencyKey } from '../../domain/idempotency.js'
import { headerValues } from '../../http/headers.js'
import { sendIdempotent } from '../../http/idempotent-reply.js'
import { createSettlementUseCase, settlementKeyScope } from '../../use-cases/create-settlement.js'
import { UPLOAD_WINDOW_SECONDS, settlementAsOf } from '../../domain/settlements/upload-window.js'
import { CreatePaymentHeadersSchema } from '../payments/schemas.js'
import { DiscrepancySchema, NewSettlementSchema, SettlementIdSchema, SettlementSchema, SettlementUploadSchema } from './schemas.js'

const Problems = { 400: ProblemResponse, 401: ProblemResponse, 403: ProblemResponse }
const Page = {
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 }))
}

/** What the settlement routes need. */
export type SettlementRouteDeps = Pick<Deps, 'config' | 'settlements' | 'settlementFiles' | 'settlementIds' | 'clock'>

/** Admin: uploads of settlement files, their reconciliations, and each one's discrepancies. */
export const settlementRoutes: FastifyPluginAsyncTypebox<{ deps: SettlementRouteDeps }> = async (app, { deps }) => {
  const createSettlement = createSettlementUseCase({
    settlements: deps.settlements,
    ids: deps.settlementIds,
    clock: deps.clock,
    idempotencyTtlSeconds: deps.config.idempotencyTtlSeconds,
    uploadUrl: async (key, seconds) => deps.settlementFiles.uploadUrl(key, seconds),
    uploadSeconds: UPLOAD_WINDOW_SECONDS
  })

  app.post('', {
    config: { auth: { scope: 'admin' } },
    schema: {
      summary: 'Starts a settlement: answers a presigned URL to PUT the provider\'s file to.',
      description: 'Requires an Idempotency-Key, as payment creation does: a retry with the same key and body answers the same settlement ' +
        '(its upload URL signed again for what is left of the same 15 minutes), never a second one. ' +
        'The file is reconciled once it is uploaded; this settlement (found by its id) follows it from `awaiting_upload` on.',
      tags: ['settlements'],
      headers: CreatePaymentHeadersSchema,
      body: NewSettlementSchema,
      response: { 201: SettlementUploadSchema, ...Problems, 409: ProblemResponse, 422: ProblemResponse, 503: ProblemResponse }
    }
  }, async (request, reply) => {
    const key = requireIdempotencyKey(headerValues(request.raw, 'idempotency-key'), 'POST /v1/settlements')
    const result = await createSettlement({ input: request.body, scope: settlementKeyScope(request.apiKey?.id ?? ''), key })
    return sendIdempotent(reply, result, { settlementId: result.settlementId }, 'settlement created, awaiting its file')
  })

  app.get('', {
    config: { auth: { scope: 'admin' } },
    schema: {
      summary: 'Settlement files reconciled, newest first.',
      tags: ['settlements'],
      querystring: Type.Object(Page, { additionalProperties: false }),
      response: { 200: Type.Object({ data: Type.Array(SettlementSchema), nextCursor: Type.Union([Type.String(), Type.Null()]) }), ...Problems }
    }
  }, async (request) => {
    const { limit, cursor } = request.query
    const page = await deps.settlements.list({ limit, ...(cursor !== undefined && { cursor }) })
    const now = deps.clock()
    return { data: page.settlements.map((settlement) => settlementAsOf(settlement, now)), nextCursor: page.nextCursor }
  })

  app.get('/:id', {
    config: { auth: { scope: 'admin' } },
    schema: {
      summary: 'One settlement file\'s reconciliation: status, counts per classification, totals per currency.',
      description: 'Updated as the file is read (at least every 10,000 rows). `awaiting_upload` until the file comes; ' +
        '`expired` when it did not come within an hour of `uploadExpiresAt` (a file put there later gets a settlement of its own).',
      tags: ['settlements'],
      params: Type.Object({ id: SettlementIdSchema }),
      response: { 200: SettlementSchema, ...Problems, 404: ProblemResponse }
    }
  }, async (request) => {
    const settlement = await deps.settlements.get(request.params.id)
    if (settlement === undefined) throw new NotFoundError(`settlement ${request.params.id} does not exist`)
    return settlementAsOf(settlement, deps.clock())
  })

  app.get('/:id/discrepancies', {
    config: { auth: { scope: 'admin' } },
    schema: {
      summary: 'Every row of a settlement that is not matched, by line: its classification, what the file said and what paylith has.',
      tags: ['settlements'],
      params: Type.Object({ id: SettlementIdSchema }),
      querystring: Type.Object(Page, { additionalProperties: false }),
      response: { 200: Type.Object({ data: Type.Array(DiscrepancySchema), nextCursor: Type.Union([Type.String(), Type.Null()]) }), ...Problems, 404: ProblemResponse }
    }
  }, async (request) => {
    const { id } = request.params
    if (await deps.settlements.get(id) === undefined) throw new NotFoundError(`settlement ${id} does not exist`)
    const { limit, cursor } = request.query
    const page = await deps.settlements.discrepancies(id, { limit, ...(cursor !== undefined && { cursor }) })
    return { data: page.discrepancies, nextCursor: page.nextCursor }
  })
}
