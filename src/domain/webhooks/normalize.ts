import { MalformedWebhookError, WebhookReferenceTooLongError } from '../errors.js'
import type { WebhookProvider } from './providers.js'
import { isObject } from '../../lib/is-object.js'
import { fromStripeAmount } from '../stripe-amounts.js'

/** What paylith does with a provider's event. */
export const WebhookEventType = {
  paymentSucceeded: 'payment.succeeded',
  paymentFailed: 'payment.failed',
  paymentRefunded: 'payment.refunded',
  /** Part of the amount was refunded: the status stays, `amountRefunded` says how much so far. */
  paymentPartiallyRefunded: 'payment.partially_refunded',
  /** One refund succeeded at the provider: ours (`refundId`), or one made there (its dashboard). */
  refundSucceeded: 'refund.succeeded',
  /** One refund failed at the provider. */
  refundFailed: 'refund.failed',
  ignored: 'ignored'
} as const

/** One internal event type. */
export type WebhookEventType = (typeof WebhookEventType)[keyof typeof WebhookEventType]

/** A provider event in paylith's terms: which payment, what happened, and why. */
export interface NormalizedWebhookEvent {
  /** The provider's own id for the event; with the provider, what makes a delivery unique. */
  eventId: string
  /** The provider's type, as sent (`payment_intent.succeeded`). */
  providerType: string
  type: WebhookEventType
  paymentId?: string
  providerRef?: string
  reason?: string
  /** On a refund event: the total refunded so far, in ISO 4217 minor units. */
  amountRefunded?: number
  /** On a refund's own event: paylith's refund id (`re_<ULID>`), when paylith started it. */
  refundId?: string
  /** On a refund's own event: the provider's id of the refund (Stripe `re_…`). */
  providerRefundRef?: string
  /** On a refund's own event: its amount, in ISO 4217 minor units. */
  refundAmount?: number
}

/**
 * Longest event id, payment id or provider reference accepted, in characters. They become parts
 * of DynamoDB keys (at most 2048 bytes) and SQS message groups; Stripe's ids are at most 255.
 */
export const MAX_WEBHOOK_REFERENCE_LENGTH = 255
/** Longest provider type kept; a longer one is cut (no type we act on is anywhere near it). */
export const MAX_WEBHOOK_TYPE_LENGTH = 255
/** Longest failure reason kept; a longer one is cut (the raw payload keeps it whole). */
export const MAX_WEBHOOK_REASON_LENGTH = 500

const STRIPE_TYPES: Record<string, WebhookEventType> = {
  'payment_intent.succeeded': WebhookEventType.paymentSucceeded,
  'payment_intent.payment_failed': WebhookEventType.paymentFailed,
  'charge.refunded': WebhookEventType.paymentRefunded
}

/** Stripe's events about one Refund object: what its `status` means. */
const STRIPE_REFUND_EVENTS: ReadonlySet<string> = new Set(['refund.created', 'refund.updated', 'refund.failed'])

const STANDARD_TYPES: Record<string, WebhookEventType> = {
  'payment.succeeded': WebhookEventType.paymentSucceeded,
  'payment.failed': WebhookEventType.paymentFailed,
  'payment.refunded': WebhookEventType.paymentRefunded,
  'refund.succeeded': WebhookEventType.refundSucceeded,
  'refund.failed': WebhookEventType.refundFailed
}

/**
 * Reads a verified payload. Stripe: the event's `id` and `type`, the PaymentIntent (or, for a
 * refund, the charge's payment_intent) as providerRef and `metadata.paymentId`. Standard
 * Webhooks: `{ type, data: { paymentId | providerRef, reason? } }` with the `webhook-id` as id.
 * Types we do not act on are kept, marked ignored.
 * @throws MalformedWebhookError for a payload that is not an event, WebhookReferenceTooLongError for an id too long to store
 */
export function normalizeWebhookEvent (provider: WebhookProvider, payload: unknown, webhookId: string | undefined): NormalizedWebhookEvent {
  if (!isObject(payload)) throw new MalformedWebhookError('the payload is not a JSON object')
  const providerType = typeof payload.type === 'string' ? payload.type : ''
  const data = isObject(payload.data) ? payload.data : {}

  if (provider === 'stripe') {
    if (typeof payload.id !== 'string' || payload.id === '') throw new MalformedWebhookError('the Stripe event has no id')
    const object = isObject(data.object) ? data.object : {}
    const metadata = isObject(object.metadata) ? object.metadata : {}
    const paymentIntent = typeof object.payment_intent === 'string' ? object.payment_intent : object.id
    const error = isObject(object.last_payment_error) ? object.last_payment_error : {}
    const refund = providerType === 'charge.refunded' ? stripeRefund(object) : undefined
    if (STRIPE_REFUND_EVENTS.has(providerType)) return compact({ eventId: payload.id, providerType, ...stripeRefundObject(providerType, object) })
    return compact({
      eventId: payload.id,
      providerType,
      type: refund?.type ?? STRIPE_TYPES[providerType] ?? WebhookEventType.ignored,
      ...(refund?.amountRefunded !== undefined && { amountRefunded: refund.amountRefunded }),
      paymentId: stringOrUndefined(metadata.paymentId),
      providerRef: stringOrUndefined(paymentIntent),
      reason: stringOrUndefined(error.code) ?? stringOrUndefined(error.message)
    })
  }

  if (webhookId === undefined || webhookId === '') throw new MalformedWebhookError('the delivery has no webhook-id')
  const type = STANDARD_TYPES[providerType] ?? WebhookEventType.ignored
  const isRefund = type === WebhookEventType.refundSucceeded || type === WebhookEventType.refundFailed
  return compact({
    eventId: webhookId,
    providerType,
    type,
    paymentId: stringOrUndefined(data.paymentId),
    providerRef: stringOrUndefined(data.providerRef),
    reason: stringOrUndefined(data.reason),
    ...(isRefund && {
      refundId: stringOrUndefined(data.refundId),
      providerRefundRef: stringOrUndefined(data.providerRefundRef),
      ...(Number.isSafeInteger(data.amount) && (data.amount as number) > 0 && { refundAmount: data.amount as number })
    })
  })
}

/**
 * A Stripe Refund object (`refund.created`, `refund.updated`, `refund.failed`): succeeded or
 * failed by its `status` (pending ones are ignored until they end); paylith's refund id is in
 * its metadata when paylith made it; its amount is read back into ISO minor units.
 */
function stripeRefundObject (providerType: string, refund: Record<string, unknown>): Omit<NormalizedWebhookEvent, 'eventId' | 'providerType'> {
  const metadata = isObject(refund.metadata) ? refund.metadata : {}
  const status = providerType === 'refund.failed' ? 'failed' : refund.status
  const type = status === 'succeeded'
    ? WebhookEventType.refundSucceeded
    : status === 'failed' || status === 'canceled' ? WebhookEventType.refundFailed : WebhookEventType.ignored
  let refundAmount: number | undefined
  if (typeof refund.amount === 'number' && typeof refund.currency === 'string') {
    try {
      refundAmount = fromStripeAmount(refund.currency.toUpperCase(), refund.amount)
    } catch (error) {
      throw new MalformedWebhookError(`the refund's amount: ${(error as Error).message}`)
    }
  }
  return {
    type,
    paymentId: stringOrUndefined(metadata.paymentId),
    providerRef: stringOrUndefined(refund.payment_intent),
    refundId: stringOrUndefined(metadata.refundId),
    providerRefundRef: stringOrUndefined(refund.id),
    ...(refundAmount !== undefined && { refundAmount }),
    reason: stringOrUndefined(refund.failure_reason) ?? (status === 'canceled' ? 'canceled' : undefined)
  }
}

/**
 * Stripe sends `charge.refunded` for partial refunds too: the charge is fully refunded only when
 * its `refunded` is true (or `amount_refunded` reached `amount`). `amount_refunded` is read back
 * from Stripe's units (ISK) into ISO minor units.
 */
function stripeRefund (charge: Record<string, unknown>): { type: WebhookEventType, amountRefunded?: number } {
  const { amount, amount_refunded: refunded, currency } = charge
  const full = charge.refunded === true || (typeof amount === 'number' && typeof refunded === 'number' && refunded >= amount)
  const type = full ? WebhookEventType.paymentRefunded : WebhookEventType.paymentPartiallyRefunded
  if (typeof refunded !== 'number' || typeof currency !== 'string') return { type }
  try {
    return { type, amountRefunded: fromStripeAmount(currency.toUpperCase(), refunded) }
  } catch (error) {
    throw new MalformedWebhookError(`the charge's amount_refunded: ${(error as Error).message}`)
  }
}

/** Leaves out absent fields, refuses references too long to store, and cuts long free text. */
function compact (event: NormalizedWebhookEvent): NormalizedWebhookEvent {
  for (const field of ['eventId', 'paymentId', 'providerRef', 'refundId', 'providerRefundRef'] as const) {
    const length = event[field]?.length ?? 0
    if (length > MAX_WEBHOOK_REFERENCE_LENGTH) {
      throw new WebhookReferenceTooLongError(`the event's ${field} is ${length} characters long; at most ${MAX_WEBHOOK_REFERENCE_LENGTH} can be stored`, { field, length, maxLength: MAX_WEBHOOK_REFERENCE_LENGTH })
    }
  }
  const bounded = { ...event, providerType: event.providerType.slice(0, MAX_WEBHOOK_TYPE_LENGTH), reason: event.reason?.slice(0, MAX_WEBHOOK_REASON_LENGTH) }
  return Object.fromEntries(Object.entries(bounded).filter(([, value]) => value !== undefined)) as unknown as NormalizedWebhookEvent
}

function stringOrUndefined (value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}
