import { createHash } from 'node:crypto'
import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { canonicalJson } from '../../domain/canonical-json.js'
import { parseIdempotencyKey } from '../../domain/idempotency.js'
import type { Payment, PaymentEvent } from '../../domain/payment.js'
import type { Deps } from '../../deps.js'
import { IdempotencyKeyInvalidError, IdempotencyKeyMissingError, IdempotencyKeyReusedError, NotFoundError } from '../../domain/errors.js'
import { MetricName } from '../../observability/metrics.js'
import { ProblemResponse } from '../../http/schemas.js'
import { newPayment } from '../../store/payments.js'
import {
  CreatePaymentBodySchema,
  CreatePaymentHeadersSchema,
  ListPaymentsQuerySchema,
  PaymentEventListSchema,
  PaymentListSchema,
  PaymentParamsSchema,
  PaymentSchema,
  type PaymentResponse
} from './schemas.js'

const Problems = { 400: ProblemResponse, 401: ProblemResponse, 403: ProblemResponse }

/** The API's view of a stored payment: internal fields (version, provider details) stay inside. */
export function toPaymentResponse (payment: Payment): PaymentResponse {
  return {
    id: payment.id,
    status: payment.status,
    amount: payment.amount,
    currency: payment.currency,
    customerId: payment.customerId,
    ...(payment.description !== undefined && { description: payment.description }),
    ...(payment.metadata !== undefined && { metadata: payment.metadata }),
    createdAt: payment.createdAt,
    updatedAt: payment.updatedAt
  }
}

/** Create, read and list payments; read a payment's status history. */
export const paymentRoutes: FastifyPluginAsyncTypebox<{ deps: Deps }> = async (app, { deps }) => {
  app.addSchema(PaymentSchema)
  const PaymentRef = Type.Ref(PaymentSchema)

  app.post('', {
    config: { auth: { scope: 'payments:write' } },
    schema: {
      summary: 'Create a payment (pending); charging happens asynchronously.',
      description: 'Requires an Idempotency-Key. The payment, its first history event and the key are written atomically: ' +
        'a retry with the same key and body never creates a second payment, even after a crash.',
      tags: ['payments'],
      headers: CreatePaymentHeadersSchema,
      body: CreatePaymentBodySchema,
      response: { 201: PaymentRef, ...Problems, 409: ProblemResponse, 422: ProblemResponse }
    }
  }, async (request, reply) => {
    const header = request.headers['idempotency-key']
    if (header === undefined) throw new IdempotencyKeyMissingError('POST /v1/payments needs an Idempotency-Key header')
    const parsed = parseIdempotencyKey(header)
    if ('problem' in parsed) throw new IdempotencyKeyInvalidError(`Idempotency-Key is not valid: ${parsed.problem}`, { problem: parsed.problem })

    const fingerprint = createHash('sha256').update(canonicalJson(request.body)).digest('hex')
    const claim = { scope: request.apiKey?.id ?? '', key: parsed.key, fingerprint }
    const payment = newPayment(deps.ids(), request.body, deps.clock())
    const response = toPaymentResponse(payment)
    const outcome = await deps.payments.createIdempotently(payment, claim, JSON.stringify(response))

    if (outcome.created) {
      deps.metrics.count(MetricName.paymentCreated)
      request.log.info({ paymentId: payment.id }, 'payment created')
      return reply.code(201).send(response)
    }
    if (outcome.record.fingerprint !== fingerprint) {
      throw new IdempotencyKeyReusedError('this Idempotency-Key was used with a different request body; use a new key for a new payment', { key: parsed.key, paymentId: outcome.record.paymentId })
    }
    request.log.info({ paymentId: outcome.record.paymentId }, 'idempotent replay')
    return reply.code(outcome.record.statusCode).header('idempotent-replayed', 'true').send(JSON.parse(outcome.record.body) as PaymentResponse)
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
      summary: 'List a customer\'s payments, newest first.',
      tags: ['payments'],
      querystring: ListPaymentsQuerySchema,
      response: { 200: PaymentListSchema, ...Problems }
    }
  }, async (request) => {
    const { customerId, limit, cursor } = request.query
    const page = await deps.payments.listByCustomer(customerId, { limit, ...(cursor !== undefined && { cursor }) })
    return { data: page.payments.map(toPaymentResponse), nextCursor: page.nextCursor }
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
