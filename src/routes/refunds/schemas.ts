import * as Type from '@sinclair/typebox'
import type { Static } from '@sinclair/typebox'
import { REFUND_ID_PATTERN } from '../../domain/ids.js'
import { MAX_REFUND_REASON_LENGTH, REFUND_STATUSES, RefundReason } from '../../domain/refund.js'
import { AttentionReason } from '../../domain/payment.js'
import { PaymentIdSchema } from '../payments/schemas.js'

/** A refund id: `re_` and a ULID. */
export const RefundIdSchema = Type.String({ pattern: REFUND_ID_PATTERN, description: '`re_` followed by a ULID.', examples: ['re_01JDQ3V0J6Q8ZC7W8E5T0R2N4M'] })

const Amount = Type.Integer({ minimum: 1, maximum: 99_999_999, description: 'Integer amount in the payment currency\'s minor unit.', examples: [500] })
const Reason = Type.String({
  minLength: 1,
  maxLength: MAX_REFUND_REASON_LENGTH,
  description: `${Object.values(RefundReason).join(', ')} (passed on to the provider), or any text up to ${MAX_REFUND_REASON_LENGTH} characters (kept by paylith).`,
  examples: [RefundReason.requestedByCustomer]
})

/** `POST /v1/payments/{id}/refunds` body. Unknown fields are rejected. */
export const CreateRefundBodySchema = Type.Object({
  amount: Type.Optional({ ...Amount, description: 'How much to give back, in minor units; all that is still refundable when absent.' }),
  reason: Type.Optional(Reason)
}, { additionalProperties: false })
export type CreateRefundBody = Static<typeof CreateRefundBodySchema>

/** Why a pending refund needs a person (the sweeper stopped re-sending it). */
export const RefundAttentionSchema = Type.Object({
  reason: Type.Union(Object.values(AttentionReason).map((reason) => Type.Literal(reason)), {
    description: 'unsettled-too-long: pending for longer than providers keep idempotency keys, so paylith will not ask the provider again; ' +
      'resends-exhausted: the sweeper re-sent its refund command as often as it may (SWEEP_MAX_RESENDS) and stopped.'
  }),
  since: Type.String({ format: 'date-time' }),
  deadLetterId: Type.Optional(Type.String())
}, { description: 'Present while a pending refund has stopped moving and a person has to look (its amount stays reserved); gone when it ends.' })

/** A refund as the API returns it. */
export const RefundSchema = Type.Object({
  id: RefundIdSchema,
  paymentId: PaymentIdSchema,
  amount: Amount,
  currency: Type.String({ description: 'ISO 4217 code: the payment\'s.' }),
  status: Type.Union(REFUND_STATUSES.map((status) => Type.Literal(status)), { description: 'pending → succeeded | failed. A failed refund gives its amount back to what is refundable.' }),
  reason: Type.Union([Type.String(), Type.Null()]),
  failureReason: Type.Optional(Type.String({ description: 'On a failed refund: the provider\'s code.', examples: ['refund_declined'] })),
  attention: Type.Optional(RefundAttentionSchema),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' })
}, { $id: 'Refund' })
export type RefundResponse = Static<typeof RefundSchema>

/** `GET /v1/refunds/{id}` params. */
export const RefundParamsSchema = Type.Object({ id: RefundIdSchema })

/** A payment's refunds, oldest first. */
export const RefundListSchema = Type.Object({
  data: Type.Array(Type.Ref(RefundSchema))
})
