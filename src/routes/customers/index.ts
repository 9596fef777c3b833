import * as Type from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Deps } from '../../deps.js'
import { ProblemResponse } from '../../http/schemas.js'
import { CustomerIdSchema, PaymentStatusSchema } from '../payments/schemas.js'

/** A customer's payments at a glance: count and total per currency and status, and refunded amounts per currency. */
export const CustomerSummarySchema = Type.Object({
  customerId: CustomerIdSchema,
  totals: Type.Array(Type.Object({
    currency: Type.String(),
    status: PaymentStatusSchema,
    count: Type.Integer({ minimum: 0 }),
    amount: Type.Integer({ minimum: 0, description: 'Sum of the payments\' amounts, in minor units.' })
  })),
  refunded: Type.Array(Type.Object({
    currency: Type.String(),
    amount: Type.Integer({ minimum: 0, description: 'Sum of what the customer\'s payments gave back (partial refunds included), in minor units.' })
  }), { description: 'Refunded amounts per currency, of the currencies with any.' }),
  lastPaymentAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()])
})

/** What the customer routes need. */
export type CustomerRouteDeps = Pick<Deps, 'summaries'>

/** `GET /v1/customers/{id}/summary`: the projection the stream worker keeps. */
export const customerRoutes: FastifyPluginAsyncTypebox<{ deps: CustomerRouteDeps }> = async (app, { deps }) => {
  app.get('/:id/summary', {
    config: { auth: { scope: 'payments:read' } },
    schema: {
      summary: 'A customer\'s payment totals per currency and status, kept up to date from the table\'s stream.',
      description: 'Eventually consistent: a payment shows here a moment after it changes. A customer with no payments has empty totals.',
      tags: ['customers'],
      params: Type.Object({ id: CustomerIdSchema }),
      response: { 200: CustomerSummarySchema, 400: ProblemResponse, 401: ProblemResponse, 403: ProblemResponse }
    }
  }, async (request) => {
    const summary = await deps.summaries.get(request.params.id)
    return summary ?? { customerId: request.params.id, totals: [], refunded: [], lastPaymentAt: null }
  })
}
