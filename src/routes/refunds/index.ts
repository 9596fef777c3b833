import * as Type from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Deps } from '../../deps.js'
import { NotFoundError } from '../../domain/errors.js'
import { requireIdempotencyKey } from '../../domain/idempotency.js'
import type { Refund } from '../../domain/refund.js'
import { headerValues } from '../../http/headers.js'
import { sendIdempotent } from '../../http/idempotent-reply.js'
import { ProblemResponse } from '../../http/schemas.js'
import { createRefundUseCase, refundKeyScope } from '../../use-cases/create-refund.js'
import { CreatePaymentHeadersSchema, PaymentParamsSchema } from '../payments/schemas.js'
import { CreateRefundBodySchema, RefundListSchema, RefundParamsSchema, RefundSchema, type RefundResponse } from './schemas.js'

const Problems = { 400: ProblemResponse, 401: ProblemResponse, 403: ProblemResponse }

/** The API's view of a stored refund: provider details stay inside. */
export function toRefundResponse (refund: Refund): RefundResponse {
  return {
    id: refund.id,
    paymentId: refund.paymentId,
    amount: refund.amount,
    currency: refund.currency,
    status: refund.status,
    reason: refund.reason ?? null,
    ...(refund.failureReason !== undefined && { failureReason: refund.failureReason }),
    ...(refund.attention !== undefined && { attention: refund.attention }),
    createdAt: refund.createdAt,
    updatedAt: refund.updatedAt
  }
}

/** What the refund routes need. */
export type RefundRouteDeps = Pick<Deps, 'config' | 'refundIds' | 'clock' | 'payments' | 'refunds' | 'metrics'>

/** Refund a payment, list its refunds, read a refund (registered under `/v1`). */
export const refundRoutes: FastifyPluginAsyncTypebox<{ deps: RefundRouteDeps }> = async (app, { deps }) => {
  app.addSchema(RefundSchema)
  const RefundRef = Type.Ref(RefundSchema)
  const createRefund = createRefundUseCase(
    { ...deps, ids: deps.refundIds, idempotencyTtlSeconds: deps.config.idempotencyTtlSeconds },
    (refund) => ({ statusCode: 201, body: toRefundResponse(refund) })
  )

  app.post('/payments/:id/refunds', {
    config: { auth: { scope: 'payments:write' } },
    schema: {
      summary: 'Refund a payment, in full or in part (pending); the provider is called asynchronously.',
      description: 'Requires an Idempotency-Key, with the same semantics as creating a payment. The refund, the reservation of its amount on the payment ' +
        'and the key are written atomically, so concurrent refunds can never give back more than the payment\'s amount. ' +
        '409 payment-not-refundable unless the payment is succeeded or partially_refunded; 422 refund-exceeds-available (with `available`) for more than is still refundable.',
      tags: ['refunds'],
      params: PaymentParamsSchema,
      headers: CreatePaymentHeadersSchema,
      body: CreateRefundBodySchema,
      response: { 201: RefundRef, ...Problems, 404: ProblemResponse, 409: ProblemResponse, 422: ProblemResponse, 503: ProblemResponse }
    }
  }, async (request, reply) => {
    const key = requireIdempotencyKey(headerValues(request.raw, 'idempotency-key'), `POST /v1/payments/${request.params.id}/refunds`)
    const result = await createRefund({ paymentId: request.params.id, input: request.body, scope: refundKeyScope(request.apiKey?.id ?? ''), key })
    return sendIdempotent(reply, result, { paymentId: request.params.id, refundId: result.resourceId }, 'refund created')
  })

  app.get('/payments/:id/refunds', {
    config: { auth: { scope: 'payments:read' } },
    schema: {
      summary: 'A payment\'s refunds, oldest first.',
      tags: ['refunds'],
      params: PaymentParamsSchema,
      response: { 200: RefundListSchema, ...Problems, 404: ProblemResponse }
    }
  }, async (request) => {
    const [payment, refunds] = await Promise.all([deps.payments.get(request.params.id), deps.refunds.listByPayment(request.params.id)])
    if (payment === undefined) throw new NotFoundError(`payment ${request.params.id} does not exist`)
    return { data: refunds.map(toRefundResponse) }
  })

  app.get('/refunds/:id', {
    config: { auth: { scope: 'payments:read' } },
    schema: {
      summary: 'Read a refund.',
      tags: ['refunds'],
      params: RefundParamsSchema,
      response: { 200: RefundRef, ...Problems, 404: ProblemResponse }
    }
  }, async (request) => {
    const refund = await deps.refunds.get(request.params.id)
    if (refund === undefined) throw new NotFoundError(`refund ${request.params.id} does not exist`)
    return toRefundResponse(refund)
  })
}
