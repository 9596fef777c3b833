import type { PaymentStatus } from './payment-status.js'
import type { SignatureProblem } from './webhooks/signatures/errors.js'

/**
 * Stable codes (`PAYLITH_<AREA>_<WHAT>`) of the errors a caller of the service may be answered
 * with. Each has its problem type in src/http/problems.ts; the compiler refuses one without.
 */
export const ErrorCode = {
  notFound: 'PAYLITH_HTTP_NOT_FOUND',
  invalidCursor: 'PAYLITH_HTTP_INVALID_CURSOR',
  dependencyUnavailable: 'PAYLITH_DEPENDENCY_UNAVAILABLE',
  dependencyThrottled: 'PAYLITH_DEPENDENCY_THROTTLED',
  idempotencyKeyMissing: 'PAYLITH_IDEMPOTENCY_KEY_MISSING',
  idempotencyKeyInvalid: 'PAYLITH_IDEMPOTENCY_KEY_INVALID',
  idempotencyKeyReused: 'PAYLITH_IDEMPOTENCY_KEY_REUSED',
  idempotencyKeyInFlight: 'PAYLITH_IDEMPOTENCY_KEY_IN_FLIGHT',
  conflict: 'PAYLITH_CONFLICT',
  invalidTransition: 'PAYLITH_PAYMENT_INVALID_TRANSITION',
  webhookMissingHeader: 'PAYLITH_WEBHOOK_MISSING_HEADER',
  webhookMalformedHeader: 'PAYLITH_WEBHOOK_MALFORMED_HEADER',
  webhookTimestampOutOfTolerance: 'PAYLITH_WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE',
  webhookNoMatchingSignature: 'PAYLITH_WEBHOOK_NO_MATCHING_SIGNATURE',
  webhookMalformedPayload: 'PAYLITH_WEBHOOK_MALFORMED_PAYLOAD',
  webhookReferenceTooLong: 'PAYLITH_WEBHOOK_REFERENCE_TOO_LONG',
  notRedrivable: 'PAYLITH_DEADLETTER_NOT_REDRIVABLE',
  amountNotChargeable: 'PAYLITH_PAYMENT_AMOUNT_NOT_CHARGEABLE',
  paymentNotCancelable: 'PAYLITH_PAYMENT_NOT_CANCELABLE',
  paymentNotRefundable: 'PAYLITH_REFUND_PAYMENT_NOT_REFUNDABLE',
  refundExceedsAvailable: 'PAYLITH_REFUND_EXCEEDS_AVAILABLE'
} as const

/** One code a caller may be answered with. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode]

/**
 * Codes of the errors that stay inside the service: an event or a message it cannot handle.
 * They end as a failed invocation, a batch item failure or a dead letter, never as an answer.
 */
export const InternalErrorCode = {
  unsupportedEvent: 'PAYLITH_LAMBDA_UNSUPPORTED_EVENT',
  unknownCommand: 'PAYLITH_QUEUE_UNKNOWN_COMMAND',
  malformedCommand: 'PAYLITH_QUEUE_MALFORMED_COMMAND',
  queueSend: 'PAYLITH_QUEUE_SEND_FAILED',
  unknownPayment: 'PAYLITH_PAYMENT_UNKNOWN',
  staleCharge: 'PAYLITH_CHARGE_STALE',
  staleRefund: 'PAYLITH_REFUND_STALE',
  settlementFileUnreadable: 'PAYLITH_SETTLEMENT_FILE_UNREADABLE',
  settlementReportOutOfTime: 'PAYLITH_SETTLEMENT_REPORT_OUT_OF_TIME'
} as const

/** One code of an error that stays inside the service. */
export type InternalErrorCode = (typeof InternalErrorCode)[keyof typeof InternalErrorCode]

/** What an error is given besides its message: its data, and the `cause` it wraps. */
type Details<Data> = object extends Data ? [details?: Data & ErrorOptions] : [details: Data & ErrorOptions]

/**
 * The one base error: a stable `code`, typed `data` about what went wrong (ids, versions, …) and
 * the usual `message` and `cause`. Nothing here says how a client is answered: src/http does.
 */
export abstract class PaylithError<Data extends object = object> extends Error {
  abstract readonly code: `PAYLITH_${string}`
  /** What the error is about, for code that decides what to do next (and for logs). */
  readonly data: Readonly<Data>

  constructor (message: string, ...[details]: Details<Data>) {
    super(message, details)
    const { cause: _cause, ...data } = details ?? {}
    this.data = data as Data
  }
}

/** A PaylithError class whose instances carry `Data`, made by defineError. */
export type PaylithErrorClass<Name extends string, Code extends `PAYLITH_${string}`> =
  new <Data extends object = object>(message: string, ...details: Details<Data>) => PaylithError<Data> & { readonly name: Name, readonly code: Code }

/**
 * The base of one error class: `class XError extends defineError('XError', code)<Data> {}`. The
 * name is a literal string, since minification renames classes; `Data` types the error's data.
 */
export function defineError<const Name extends string, const Code extends `PAYLITH_${string}`> (name: Name, code: Code): PaylithErrorClass<Name, Code> {
  class Defined extends PaylithError {
    override readonly name = name
    readonly code = code
  }
  return Defined as PaylithErrorClass<Name, Code>
}

/** The requested resource does not exist. */
export class NotFoundError extends defineError('NotFoundError', ErrorCode.notFound) {}

/** A page cursor that this service did not issue for this listing. */
export class InvalidCursorError extends defineError('InvalidCursorError', ErrorCode.invalidCursor)<{ listing: string }> {}

/** A dependency the service needs (DynamoDB, SQS) is not answering. */
export class DependencyUnavailableError extends defineError('DependencyUnavailableError', ErrorCode.dependencyUnavailable)<{ dependency: string }> {}

/**
 * A dependency refused a write for now (DynamoDB throttling while it scales, or a concurrent
 * transaction) until the retries ran out. Nothing was written: the same request may be sent
 * again after `retryAfterSeconds`.
 */
export class DependencyThrottledError extends defineError('DependencyThrottledError', ErrorCode.dependencyThrottled)<{ dependency: string, operation: string, reason: string, retryAfterSeconds: number }> {}

/** An amount the configured provider cannot charge in that currency (Stripe: a three-decimal amount not ending in 0). */
export class AmountNotChargeableError extends defineError('AmountNotChargeableError', ErrorCode.amountNotChargeable)<{ currency: string, amount: number }> {}

/** A refund of a payment that has not succeeded (or is refunded in full already). */
export class PaymentNotRefundableError extends defineError('PaymentNotRefundableError', ErrorCode.paymentNotRefundable)<{ paymentId: string, status: PaymentStatus }> {}

/** A refund for more than the payment can still give back: its amount less what was refunded and what pending refunds hold. */
export class RefundExceedsAvailableError extends defineError('RefundExceedsAvailableError', ErrorCode.refundExceedsAvailable)<{ paymentId: string, requested: number, available: number, currency: string }> {}

/** A request that must carry an Idempotency-Key has none. */
export class IdempotencyKeyMissingError extends defineError('IdempotencyKeyMissingError', ErrorCode.idempotencyKeyMissing) {}

/** The Idempotency-Key is empty, too long or malformed; `problem` says which. */
export class IdempotencyKeyInvalidError extends defineError('IdempotencyKeyInvalidError', ErrorCode.idempotencyKeyInvalid)<{ problem: string }> {}

/** The key was used before with another request body. */
export class IdempotencyKeyReusedError extends defineError('IdempotencyKeyReusedError', ErrorCode.idempotencyKeyReused)<{ key: string, resourceId: string }> {}

/** Another request with the same key is still being processed; retry after a moment. */
export class IdempotencyKeyInFlightError extends defineError('IdempotencyKeyInFlightError', ErrorCode.idempotencyKeyInFlight)<{ key: string, retryAfterSeconds: number }> {}

/** A payment write lost a race: the payment changed since `expectedVersion` was read. */
export class VersionConflictError extends defineError('VersionConflictError', ErrorCode.conflict)<{ paymentId: string, expectedVersion: number }> {}

/** A dead letter that is being, or has been, redriven already. */
export class AlreadyRedrivenError extends defineError('AlreadyRedrivenError', ErrorCode.conflict)<{ deadLetterId: string, status: string }> {}

/** A cancel of a payment that is no longer pending: it may have reached the provider already, or is canceled. */
export class PaymentNotCancelableError extends defineError('PaymentNotCancelableError', ErrorCode.paymentNotCancelable)<{ paymentId: string, status: PaymentStatus }> {}

/** A status change the payment lifecycle does not allow (backwards, sideways or in place). */
export class InvalidTransitionError extends defineError('InvalidTransitionError', ErrorCode.invalidTransition)<{ paymentId: string, from: PaymentStatus, to: PaymentStatus }> {}

/** A verified webhook payload that is not an event we can read (not JSON, no id, …). */
export class MalformedWebhookError extends defineError('MalformedWebhookError', ErrorCode.webhookMalformedPayload) {}

/** A verified webhook naming an event, payment or provider reference too long to be one: no delivery of it can ever be stored. */
export class WebhookReferenceTooLongError extends defineError('WebhookReferenceTooLongError', ErrorCode.webhookReferenceTooLong)<{ field: string, length: number, maxLength: number }> {}

/** A dead letter that records a stream batch: there is no message to send again. */
export class NotRedrivableError extends defineError('NotRedrivableError', ErrorCode.notRedrivable)<{ deadLetterId: string, kind: string }> {}

/** An event reached the Lambda handler in a shape no entrypoint handles. */
export class UnsupportedEventError extends defineError('UnsupportedEventError', InternalErrorCode.unsupportedEvent) {}

/** A valid work-queue command no handler is registered for: a deployment fault, so it is retried. */
export class UnknownCommandError extends defineError('UnknownCommandError', InternalErrorCode.unknownCommand) {}

/** A work-queue message that is not a valid command (not JSON, unknown type, a bad field): no retry can make it one. */
export class MalformedCommandError extends defineError('MalformedCommandError', InternalErrorCode.malformedCommand) {}

/** SQS refused a message of a batch (or answered nothing for it); whoever sent it retries. */
export class QueueSendError extends defineError('QueueSendError', InternalErrorCode.queueSend) {}

/** A command or event that names no payment (or stored event) we have, yet. */
export class UnknownPaymentError extends defineError('UnknownPaymentError', InternalErrorCode.unknownPayment) {}

/** A charge too old to retry safely: calling the provider again could charge twice. */
export class StaleChargeError extends defineError('StaleChargeError', InternalErrorCode.staleCharge)<{ paymentId: string, createdAt: string }> {}

/** A refund never accepted by the provider and too old to ask for again safely: a new call could refund twice. */
export class StaleRefundError extends defineError('StaleRefundError', InternalErrorCode.staleRefund)<{ paymentId: string, refundId: string, createdAt: string }> {}

/** A settlement file that cannot be reconciled at all (an unknown format, missing columns): the settlement fails. */
export class SettlementFileError extends defineError('SettlementFileError', InternalErrorCode.settlementFileUnreadable)<{ missingColumns?: string[] }> {}

/** A settlement report stopped (its upload aborted) because the invocation was about to time out: it is written again whole, in another. */
export class SettlementReportOutOfTimeError extends defineError('SettlementReportOutOfTimeError', InternalErrorCode.settlementReportOutOfTime)<{ settlementId: string }> {}

const SIGNATURE_CODES = {
  'missing-header': ErrorCode.webhookMissingHeader,
  'malformed-header': ErrorCode.webhookMalformedHeader,
  'timestamp-out-of-tolerance': ErrorCode.webhookTimestampOutOfTolerance,
  'no-matching-signature': ErrorCode.webhookNoMatchingSignature
} as const satisfies Record<SignatureProblem, ErrorCode>

/** A webhook whose signature does not verify; `problem` says why. Its message never holds a secret or the body. */
export class WebhookSignatureError extends PaylithError<{ problem: SignatureProblem }> {
  override readonly name = 'WebhookSignatureError'
  readonly code = SIGNATURE_CODES[this.data.problem]
}

/** Every error class of the domain and the service, for code that maps them by `code`. */
export type DomainError =
  | NotFoundError
  | AmountNotChargeableError
  | PaymentNotRefundableError
  | RefundExceedsAvailableError
  | InvalidCursorError
  | DependencyUnavailableError
  | DependencyThrottledError
  | IdempotencyKeyMissingError
  | IdempotencyKeyInvalidError
  | IdempotencyKeyReusedError
  | IdempotencyKeyInFlightError
  | VersionConflictError
  | AlreadyRedrivenError
  | InvalidTransitionError
  | PaymentNotCancelableError
  | WebhookSignatureError
  | MalformedWebhookError
  | WebhookReferenceTooLongError
  | NotRedrivableError
  | UnsupportedEventError
  | UnknownCommandError
  | UnknownPaymentError
  | StaleChargeError
  | StaleRefundError
  | SettlementFileError
  | SettlementReportOutOfTimeError
