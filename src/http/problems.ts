import { ErrorCode, PaylithError, type DomainError } from '../domain/errors.js'
import { HttpErrorCode, type HttpError } from './errors.js'
import type { ProblemDetails } from './schemas.js'

/** Base URI of the stable problem `type`s paylith answers with. */
export const PROBLEM_BASE = 'https://paylith.dev/problems/'

/** How one kind of error is answered: RFC 9457 problem type (`PROBLEM_BASE` + slug), status and title. */
export interface ProblemKind<E = never> {
  status: number
  slug: string
  title: string
  /** When a client gets it (documentation: the README's table of problem types). */
  when: string
  /** Response headers the error calls for (`WWW-Authenticate`, `Retry-After`). */
  headers?: (error: E) => Record<string, string>
  /** RFC 9457 extension members the error adds to its problem document (`available`). */
  members?: (error: E) => ProblemMembers
}

/** The extension members a problem document may carry besides the standard ones. */
export type ProblemMembers = Pick<ProblemDetails, 'available'>

/** Every code a client may be answered with. */
export type ProblemCode = ErrorCode | HttpErrorCode

type ErrorWithCode<C> = Extract<DomainError | HttpError, { code: C }>

/** The one table from error code to problem: a code without an entry does not compile. */
export const PROBLEMS: { readonly [C in ProblemCode]: ProblemKind<ErrorWithCode<C>> } = {
  [HttpErrorCode.unauthorized]: { status: 401, slug: 'unauthorized', title: 'Unauthorized', when: 'no API key, or one that is not configured (with `WWW-Authenticate: Bearer`)', headers: () => ({ 'www-authenticate': 'Bearer' }) },
  [ErrorCode.idempotencyKeyInFlight]: { status: 409, slug: 'idempotency-key-in-flight', title: 'Idempotency-Key In Flight', when: 'the first request with the key is still being written (with `Retry-After`)', headers: (error) => ({ 'retry-after': String(error.data.retryAfterSeconds) }) },
  [HttpErrorCode.validation]: { status: 400, slug: 'validation', title: 'Validation Failed', when: 'a body, query, path or header is not valid; `invalidParams` lists every failing field' },
  [HttpErrorCode.forbidden]: { status: 403, slug: 'forbidden', title: 'Forbidden', when: 'the API key lacks the scope the route needs' },
  [ErrorCode.notFound]: { status: 404, slug: 'not-found', title: 'Not Found', when: 'no such route, payment, dead letter or webhook provider' },
  [ErrorCode.amountNotChargeable]: { status: 400, slug: 'amount-not-chargeable', title: 'Amount Not Chargeable', when: 'with `PAYMENT_PROVIDER=stripe`, an amount Stripe cannot charge in its currency: a three-decimal currency (BHD, JOD, KWD, OMR, TND) not ending in 0, or over Stripe\'s eight digits once converted (ISK)' },
  [ErrorCode.invalidCursor]: { status: 400, slug: 'invalid-cursor', title: 'Invalid Cursor', when: 'a page cursor that was altered or belongs to another listing' },
  [ErrorCode.idempotencyKeyMissing]: { status: 400, slug: 'idempotency-key-missing', title: 'Idempotency-Key Missing', when: 'a `POST` that creates or changes something (payments, cancels, refunds, settlements) without an `Idempotency-Key`' },
  [ErrorCode.idempotencyKeyInvalid]: { status: 400, slug: 'idempotency-key-invalid', title: 'Idempotency-Key Invalid', when: 'an `Idempotency-Key` that is empty, too long, not printable ASCII, or sent more than once' },
  [ErrorCode.idempotencyKeyReused]: { status: 422, slug: 'idempotency-key-reused', title: 'Idempotency-Key Reused', when: 'a key used before with another body' },
  [ErrorCode.conflict]: { status: 409, slug: 'conflict', title: 'Conflict', when: 'the item changed meanwhile, or a dead letter is already redriven' },
  [ErrorCode.paymentNotCancelable]: { status: 409, slug: 'payment-not-cancelable', title: 'Payment Not Cancelable', when: '`POST /v1/payments/{id}/cancel` of a payment that is no longer `pending` (it may have reached the provider, or is already canceled)' },
  [ErrorCode.paymentNotRefundable]: { status: 409, slug: 'payment-not-refundable', title: 'Payment Not Refundable', when: '`POST /v1/payments/{id}/refunds` for a payment that is not `succeeded` or `partially_refunded`' },
  [ErrorCode.refundExceedsAvailable]: { status: 422, slug: 'refund-exceeds-available', title: 'Refund Exceeds Available Amount', when: 'a refund for more than the payment can still give back (its amount less what was refunded and what pending refunds hold); `available` says how much, in minor units', members: (error) => ({ available: error.data.available }) },
  [ErrorCode.invalidTransition]: { status: 409, slug: 'invalid-transition', title: 'Invalid Status Transition', when: 'a status change the payment lifecycle does not allow' },
  [ErrorCode.notRedrivable]: { status: 422, slug: 'not-redrivable', title: 'Not Redrivable', when: 'a dead letter that records a stream batch whose records could not be read back from the stream (it keeps them 24 hours): there is nothing to run again' },
  [ErrorCode.webhookMissingHeader]: { status: 400, slug: 'webhook-missing-header', title: 'Webhook Signature Header Missing', when: 'a webhook without its signature headers' },
  [ErrorCode.webhookMalformedHeader]: { status: 400, slug: 'webhook-malformed-header', title: 'Webhook Signature Header Malformed', when: 'a signature header that cannot be read' },
  [ErrorCode.webhookTimestampOutOfTolerance]: { status: 400, slug: 'webhook-timestamp-out-of-tolerance', title: 'Webhook Timestamp Outside Tolerance', when: 'a webhook timestamp too far from now, either way' },
  [ErrorCode.webhookNoMatchingSignature]: { status: 400, slug: 'webhook-no-matching-signature', title: 'Webhook Signature Mismatch', when: 'no signature matches an active secret' },
  [ErrorCode.webhookMalformedPayload]: { status: 400, slug: 'webhook-malformed-payload', title: 'Webhook Payload Malformed', when: 'a verified webhook body that is not a readable event' },
  [ErrorCode.webhookReferenceTooLong]: { status: 422, slug: 'webhook-reference-too-long', title: 'Webhook Reference Too Long', when: 'a verified webhook whose event id, payment id or provider reference is over 255 characters: it can never be stored, so it is refused, not dropped' },
  [ErrorCode.dependencyThrottled]: { status: 503, slug: 'dependency-throttled', title: 'Service Busy', when: 'DynamoDB kept refusing the write for now (throttled while it scales, or a concurrent write) after a few tries; nothing was written, so the same request (same `Idempotency-Key`) may be sent again (with `Retry-After`)', headers: (error) => ({ 'retry-after': String(error.data.retryAfterSeconds) }) },
  [ErrorCode.dependencyUnavailable]: { status: 503, slug: 'dependency-unavailable', title: 'Service Unavailable', when: 'DynamoDB, SQS or Secrets Manager (API keys, webhook secrets) is not answering' },
  [HttpErrorCode.internal]: { status: 500, slug: 'internal', title: 'Internal Server Error', when: 'anything else: a generic answer with no internals' }
}

/** Stable problem types for the 4xx errors Fastify itself raises, by Fastify's code; each is answered with `PAYLITH_HTTP_<status>`. */
export const FASTIFY_PROBLEMS: Readonly<Record<string, ProblemKind>> = {
  FST_ERR_BAD_URL: { status: 400, slug: 'malformed-request', title: 'Bad Request', when: 'a URL that does not decode (`%zz`)' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, slug: 'uri-too-long', title: 'URI Too Long', when: 'a path parameter longer than 100 characters' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, slug: 'malformed-request', title: 'Bad Request', when: 'a body that is not valid JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, slug: 'malformed-request', title: 'Bad Request', when: 'an empty body declared JSON' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, slug: 'malformed-request', title: 'Bad Request', when: 'a Content-Length that does not match the body' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, slug: 'payload-too-large', title: 'Payload Too Large', when: 'a body over the route\'s limit' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, slug: 'unsupported-media-type', title: 'Unsupported Media Type', when: 'a Content-Type the route does not take' }
}

/**
 * Problem types for what Node's HTTP server refuses before Fastify sees a request, by Node's
 * code (`other`: any other parser error); each is answered with `PAYLITH_HTTP_<status>`.
 */
export const CLIENT_ERROR_PROBLEMS = {
  HPE_HEADER_OVERFLOW: { status: 431, slug: 'header-fields-too-large', title: 'Request Header Fields Too Large', when: 'request headers over Node\'s limit (16 KB)' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, slug: 'request-timeout', title: 'Request Timeout', when: 'a request not received in full in time' },
  other: { status: 400, slug: 'malformed-request', title: 'Bad Request', when: 'a request that is not valid HTTP' }
} as const satisfies Readonly<Record<string, ProblemKind>>

/** The problem for any other 4xx Fastify raises: `http-<status>`, `PAYLITH_HTTP_<status>`. */
export const OTHER_CLIENT_PROBLEM = { title: 'Bad Request', when: 'any other 4xx' } as const

/** The problem document of one kind of problem, with its code and the specific detail. */
export function problemOf (kind: Pick<ProblemKind, 'slug' | 'title' | 'status'>, code: string, detail: string): ProblemDetails {
  return { type: PROBLEM_BASE + kind.slug, title: kind.title, status: kind.status, detail, code }
}

/** How an error is answered if its code is in the table: its problem kind and the headers it calls for. */
export function tabledProblem (error: unknown): { kind: ProblemKind, code: ProblemCode, headers: Record<string, string>, members: ProblemMembers } | undefined {
  if (!(error instanceof PaylithError) || !Object.hasOwn(PROBLEMS, error.code)) return undefined
  const code = error.code as ProblemCode
  // The entry was looked up by the error's own code, so its headers take this error.
  const kind = PROBLEMS[code] as ProblemKind<PaylithError>
  return { kind, code, headers: kind.headers?.(error) ?? {}, members: kind.members?.(error) ?? {} }
}
