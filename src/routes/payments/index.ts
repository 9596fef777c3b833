import * as Type from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { requireIdempotencyKey } from '../../domain/idempotency.js'
import { headerValues } from '../../http/headers.js'
import { sendIdempotent } from '../../http/idempotent-reply.js'
import type { Payment, PaymentEvent } from '../../domain/payment.js'
import type { Deps } from '../../deps.js'
import { AmountNotChargeableError, NotFoundError } from '../../domain/errors.js'
import { stripeAmountProblem } from '../../domain/stripe-amounts.js'
import { ProblemResponse } from '../../http/schemas.js'
import { createPaymentUseCase } from '../../use-cases/create-payment.js'
import { cancelPaymentUseCase } from '../../use-cases/cancel-payment.js'
import {
  CreatePaymentBodySchema,
  CreatePaymentHeadersSchema,
  IdempotencyKeyHeadersSchema,
  ListPaymentsQuerySchema,
  PaymentEventListSchema,
  PaymentListSchema,
  PaymentParamsSchema,
  PaymentSchema,
  type PaymentResponse
} from './schemas.js'

const Problems = { 400: ProblemResponse, 401: ProblemResponse, 403: ProblemResponse }

/**
 * The API's view of a stored payment: internal fields (version, provider details) stay inside.
 * Its keys come in the order the response serializer writes them (required ones first, then the
 * optional ones in schema order), so a new payment's JSON text, which its Idempotency-Key stores
 * and the create sends as it is, has the very bytes a replay's serializer gives.
 */
function toPaymentResponse (payment: Payment): PaymentResponse {
  return {
    id: payment.id,
    status: payment.status,
    amount: payment.amount,
    currency: payment.currency,
    customerId: payment.customerId,
    createdAt: payment.createdAt,
    updatedAt: payment.updatedAt,
    ...(payment.description !== undefined && { description: payment.description }),
    ...(payment.metadata !== undefined && { metadata: payment.metadata }),
    ...(payment.confirmation !== undefined && { confirmation: payment.confirmation }),
    ...(payment.providerCustomer !== undefined && { providerCustomer: payment.providerCustomer }),
    ...(payment.providerPaymentMethod !== undefined && { providerPaymentMethod: payment.providerPaymentMethod }),
    ...(payment.clientSecret !== undefined && payment.status === 'requires_action' && { clientSecret: payment.clientSecret }),
    ...(payment.failureReason !== undefined && { failureReason: payment.failureReason }),
    ...(payment.attention !== undefined && { attention: payment.attention }),
    amountRefunded: payment.amountRefunded ?? 0
  }
}

/** What the payment routes need. */
export type PaymentRouteDeps = Pick<Deps, 'config' | 'ids' | 'clock' | 'payments' | 'metrics'>

/** Create, read, list and cancel payments; read a payment's status history. */
export const paymentRoutes: FastifyPluginAsyncTypebox<{ deps: PaymentRouteDeps }> = async (app, { deps }) => {
  app.addSchema(PaymentSchema)
  const PaymentRef = Type.Ref(PaymentSchema)
  const createPayment = createPaymentUseCase(
    { ...deps, idempotencyTtlSeconds: deps.config.idempotencyTtlSeconds },
    (payment) => ({ statusCode: 201, body: toPaymentResponse(payment) })
  )
  const cancelPayment = cancelPaymentUseCase(
    { ...deps, idempotencyTtlSeconds: deps.config.idempotencyTtlSeconds },
    (payment) => ({ statusCode: 200, body: toPaymentResponse(payment) })
  )

  app.post('', {
    config: { auth: { scope: 'payments:write' } },
    schema: {
      summary: 'Create a payment (pending); charging happens asynchronously.',
      description: 'Requires an Idempotency-Key. The payment, its first history event and the key are written atomically: ' +
        'a retry with the same key and body never creates a second payment, even after a crash.',
      tags: ['payments'],
      headers: CreatePaymentHeadersSchema,
      body: CreatePaymentBodySchema,
      response: { 201: PaymentRef, ...Problems, 409: ProblemResponse, 422: ProblemResponse, 503: ProblemResponse }
    }
  }, async (request, reply) => {
    const key = requireIdempotencyKey(headerValues(request.raw, 'idempotency-key'), 'POST /v1/payments')
    const { amount, currency } = request.body
    const notChargeable = deps.config.provider.name === 'stripe' ? stripeAmountProblem(currency, amount) : undefined
    if (notChargeable !== undefined) throw new AmountNotChargeableError(notChargeable, { currency, amount })
    const result = await createPayment({ input: request.body, scope: request.apiKey?.id ?? '', key })
    return sendIdempotent(reply, result, { paymentId: result.resourceId }, 'payment created')
  })

  app.get('/:id', {
    config: { auth: { scope: 'payments:read' } },
    schema: {
      summary: 'Read a payment.',
      tags: ['payments'],
      params: PaymentParamsSchema,
      response: { 200: PaymentRef, ...Problems, 404: ProblemResponse }
    }
  }, async (request) => {
    const payment = await deps.payments.get(request.params.id)
    if (payment === undefined) throw new NotFoundError(`payment ${request.params.id} does not exist`)
    return toPaymentResponse(payment)
  })

  app.get('', {
    config: { auth: { scope: 'payments:read' } },
    schema: {
      summary: 'List payments, newest first: a customer\'s, or every payment; optionally of one status.',
      tags: ['payments'],
      querystring: ListPaymentsQuerySchema,
      response: { 200: PaymentListSchema, ...Problems }
    }
  }, async (request) => {
    const { customerId, status, limit, cursor } = request.query
    const options = { limit, ...(cursor !== undefined && { cursor }), ...(status !== undefined && { status }) }
    const page = customerId === undefined ? await deps.payments.listAll(options) : await deps.payments.listByCustomer(customerId, options)
    return { data: page.payments.map(toPaymentResponse), nextCursor: page.nextCursor }
  })

  app.post('/:id/cancel', {
    config: { auth: { scope: 'payments:write' } },
    schema: {
      summary: 'Cancel a pending payment; it is never sent to the provider.',
      description: 'Requires an Idempotency-Key (the same rules as creating a payment). Only a pending payment can be canceled: ' +
        'the cancel and the charge worker\'s pending → processing are both conditional writes, so exactly one of them wins; ' +
        'a payment that is no longer pending is 409 payment-not-cancelable. Takes no body.',
      tags: ['payments'],
      headers: IdempotencyKeyHeadersSchema,
      params: PaymentParamsSchema,
      response: { 200: PaymentRef, ...Problems, 404: ProblemResponse, 409: ProblemResponse, 422: ProblemResponse, 503: ProblemResponse }
    }
  }, async (request, reply) => {
    const paymentId = request.params.id
    const key = requireIdempotencyKey(headerValues(request.raw, 'idempotency-key'), 'POST /v1/payments/{id}/cancel')
    const result = await cancelPayment({ paymentId, scope: request.apiKey?.id ?? '', key })
    return sendIdempotent(reply, result, { paymentId }, 'payment canceled')
  })

  app.get('/:id/events', {
    config: { auth: { scope: 'payments:read' } },
    schema: {
      summary: 'A payment\'s status history, oldest first.',
      tags: ['payments'],
      params: PaymentParamsSchema,
      response: { 200: PaymentEventListSchema, ...Problems, 404: ProblemResponse }
    }
  }, async (request) => {
    const events = await deps.payments.history(request.params.id)
    if (events === undefined) throw new NotFoundError(`payment ${request.params.id} does not exist`)
    return { data: events.map(({ paymentId: _paymentId, ...event }: PaymentEvent) => event) }
  })
}
