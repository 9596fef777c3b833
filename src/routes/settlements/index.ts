import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Deps } from '../../deps.js'
import { NotFoundError } from '../../domain/errors.js'
import { ProblemResponse } from '../../http/schemas.js'
import { DiscrepancySchema, SettlementIdSchema, SettlementSchema } from './schemas.js'

const Problems = { 400: ProblemResponse, 401: ProblemResponse, 403: ProblemResponse }
const Page = {
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 }))
}

/** What the settlement routes need. */
export type SettlementRouteDeps = Pick<Deps, 'settlements'>

/** Admin: the reconciliations of settlement files, and each one's discrepancies. */
export const settlementRoutes: FastifyPluginAsyncTypebox<{ deps: SettlementRouteDeps }> = async (app, { deps }) => {
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
    return { data: page.settlements, nextCursor: page.nextCursor }
  })

  app.get('/:id', {
    config: { auth: { scope: 'admin' } },
    schema: {
      summary: 'One settlement file\'s reconciliation: status, counts per classification, totals per currency.',
      description: 'Updated as the file is read (at least every 10,000 rows).',
      tags: ['settlements'],
      params: Type.Object({ id: SettlementIdSchema }),
      response: { 200: SettlementSchema, ...Problems, 404: ProblemResponse }
    }
  }, async (request) => {
    const settlement = await deps.settlements.get(request.params.id)
    if (settlement === undefined) throw new NotFoundError(`settlement ${request.params.id} does not exist`)
    return settlement
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
