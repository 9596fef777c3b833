import * as Type from '@sinclair/typebox'
import type { Static } from '@sinclair/typebox'
import { PAYMENT_ID_PATTERN } from '../../domain/ids.js'
import { MAX_IDEMPOTENCY_KEY_LENGTH } from '../../domain/idempotency.js'
import { AttentionReason, ChargeConfirmation } from '../../domain/payment.js'
import { PAYMENT_STATUSES } from '../../domain/payment-status.js'
import { CURRENCY_FORMAT } from '../../lib/currency-format.js'

/** A payment id: `pay_` and a ULID. */
export const PaymentIdSchema = Type.String({ pattern: PAYMENT_ID_PATTERN, description: '`pay_` followed by a ULID.', examples: ['pay_01JDQ3V0J6Q8ZC7W8E5T0R2N4M'] })

/** A customer id as the client knows it. */
export const CustomerIdSchema = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: '1 to 64 of A-Z a-z 0-9 _ -.', examples: ['cus_42'] })

/** A payment's status. */
export const PaymentStatusSchema = Type.Union(PAYMENT_STATUSES.map((status) => Type.Literal(status)), {
  description: 'pending → processing → succeeded | failed; processing → requires_action (on-session: the customer authenticates in the browser) → succeeded | failed; succeeded → partially_refunded → refunded, succeeded → refunded; pending → canceled (final). Never moves backwards.'
})

const Amount = Type.Integer({ minimum: 1, maximum: 99_999_999, description: 'Integer amount in the currency\'s minor unit (cents for EUR).', examples: [1999] })
const Currency = Type.String({ format: CURRENCY_FORMAT, pattern: '^[A-Z]{3}$', description: 'ISO 4217 code of a currency in use.', examples: ['EUR'] })
const Description = Type.String({ maxLength: 500 })
const Metadata = Type.Record(Type.String(), Type.String({ maxLength: 500 }), {
  maxProperties: 20,
  propertyNames: { minLength: 1, maxLength: 40 },
  description: 'Up to 20 string keys (≤ 40 characters) with string values (≤ 500 characters).'
})

const Confirmation = Type.Union(Object.values(ChargeConfirmation).map((value) => Type.Literal(value)), {
  description: 'automatic (default): paylith confirms the charge off-session, merchant-initiated. ' +
    'client: on-session; once the provider\'s intent exists the payment is requires_action with a clientSecret, the front end confirms it (Stripe.js), the webhook settles it.'
})
const ProviderCustomer = Type.String({ pattern: '^cus_[A-Za-z0-9]{1,250}$', description: 'The Stripe Customer who pays (`cus_…`): required by Stripe to charge a PaymentMethod attached to that customer.', examples: ['cus_NffrFeUfNV2Hib'] })
const ProviderPaymentMethod = Type.String({ pattern: '^pm_[A-Za-z0-9_]{1,250}$', description: 'The Stripe PaymentMethod to charge (`pm_…`); STRIPE_PAYMENT_METHOD when absent.', examples: ['pm_1MqLiJLkdIwHu7ixUEgbFdYF'] })

/** `POST /v1/payments` body. Unknown fields are rejected. */
export const CreatePaymentBodySchema = Type.Object({
  amount: Amount,
  currency: Currency,
  customerId: CustomerIdSchema,
  description: Type.Optional(Description),
  metadata: Type.Optional(Metadata),
  confirmation: Type.Optional(Confirmation),
  providerCustomer: Type.Optional(ProviderCustomer),
  providerPaymentMethod: Type.Optional(ProviderPaymentMethod)
}, { additionalProperties: false })
export type CreatePaymentBody = Static<typeof CreatePaymentBodySchema>

/** Headers of a request that needs an Idempotency-Key (creating or canceling a payment). The key's rules are checked by the route for a specific problem type. */
export const IdempotencyKeyHeadersSchema = Type.Object({
  'idempotency-key': Type.Optional(Type.String({
    description: `Required. 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters, bare (abc) or as a structured-field string ("abc"). ` +
      'Scoped to the calling API key. Remembered for IDEMPOTENCY_TTL_SECONDS (default 24 h): the same key and request replays the original answer ' +
      'with Idempotent-Replayed: true; the same key with another request (another body, another payment, another operation) is 422; while the first request is in flight, 409 with Retry-After.'
  }))
})

/** `POST /v1/payments` headers. */
export const CreatePaymentHeadersSchema = IdempotencyKeyHeadersSchema

/** Why a payment needs a person, since when, and the dead letter that says more. */
export const PaymentAttentionSchema = Type.Object({
  reason: Type.Union(Object.values(AttentionReason).map((reason) => Type.Literal(reason)), {
    description: 'dead-lettered: its command exhausted its retries (see deadLetterId); ' +
      'unsettled-too-long: unsettled for longer than providers keep idempotency keys, so paylith will not charge it again; ' +
      'resends-exhausted: the sweeper re-sent its charge as often as it may (SWEEP_MAX_RESENDS) and stopped.'
  }),
  since: Type.String({ format: 'date-time' }),
  deadLetterId: Type.Optional(Type.String({ description: 'The dead letter (GET /v1/dead-letters?paymentId=) that tells why.' }))
}, { description: 'Present while paylith has stopped moving the payment and a person has to look; cleared by its next status change.' })

/** A payment as the API returns it. */
export const PaymentSchema = Type.Object({
  id: PaymentIdSchema,
  status: PaymentStatusSchema,
  amount: Amount,
  currency: Type.String({ description: 'ISO 4217 code.' }),
  customerId: CustomerIdSchema,
  description: Type.Optional(Description),
  metadata: Type.Optional(Type.Record(Type.String(), Type.String())),
  confirmation: Type.Optional(Confirmation),
  providerCustomer: Type.Optional(ProviderCustomer),
  providerPaymentMethod: Type.Optional(ProviderPaymentMethod),
  clientSecret: Type.Optional(Type.String({ description: 'While requires_action: the PaymentIntent\'s client secret, for Stripe.js in the customer\'s browser. Not logged.' })),
  failureReason: Type.Optional(Type.String({ description: 'On a failed payment: why, as the provider\'s decline code; authentication_required when an off-session charge needed the customer (the intent is cancelled).', examples: ['card_declined'] })),
  attention: Type.Optional(PaymentAttentionSchema),
  amountRefunded: Type.Optional(Type.Integer({ minimum: 0, description: 'What succeeded refunds gave back so far, in minor units (always present; absent only in answers replayed from before refunds existed).' })),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' })
}, { $id: 'Payment' })
export type PaymentResponse = Static<typeof PaymentSchema>

/** `GET /v1/payments/{id}` params. */
export const PaymentParamsSchema = Type.Object({ id: PaymentIdSchema })

/** `GET /v1/payments` query. */
export const ListPaymentsQuerySchema = Type.Object({
  /** Only this customer's payments; without it, every payment. */
  customerId: Type.Optional(CustomerIdSchema),
  status: Type.Optional(Type.Union(PAYMENT_STATUSES.map((status) => Type.Literal(status)), {
    description: 'Only payments in this status. A filter on the same reads: a page may hold fewer than limit payments (even none) and still have a nextCursor; follow it until it is null.'
  })),
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 2048, description: 'Opaque: the nextCursor of the previous page.' }))
}, { additionalProperties: false })

/** A page of payments, newest first. */
export const PaymentListSchema = Type.Object({
  data: Type.Array(Type.Ref(PaymentSchema)),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as cursor for the next page; null on the last page.' })
})

/** One status change of a payment. */
export const PaymentEventSchema = Type.Object({
  status: PaymentStatusSchema,
  previousStatus: Type.Union([PaymentStatusSchema, Type.Null()]),
  version: Type.Integer({ minimum: 1 }),
  at: Type.String({ format: 'date-time' }),
  reason: Type.Optional(Type.String())
})

/** A payment's status history, oldest first. */
export const PaymentEventListSchema = Type.Object({
  data: Type.Array(PaymentEventSchema)
})
