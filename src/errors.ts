/** Base URI of the stable problem `type`s paylith answers with. */
export const PROBLEM_BASE = 'https://paylith.dev/problems/'

/** What every AppError subclass declares about itself. */
export interface AppErrorSpec {
  statusCode: number
  code: `PAYLITH_${string}`
  slug: string
  title: string
  /** Response headers the error calls for (`WWW-Authenticate`, `Retry-After`). */
  headers?: Record<string, string>
}

/**
 * The one base error. `statusCode`, `code`, `type` and `title` are stable and safe to show a
 * client; `message` is the specific detail.
 */
export class AppError extends Error {
  readonly statusCode: number
  readonly code: string
  readonly type: string
  readonly title: string
  readonly headers: Readonly<Record<string, string>>

  constructor (spec: AppErrorSpec, message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'AppError'
    this.statusCode = spec.statusCode
    this.code = spec.code
    this.type = PROBLEM_BASE + spec.slug
    this.title = spec.title
    this.headers = spec.headers ?? {}
  }
}

/** The requested resource does not exist. */
export class NotFoundError extends AppError {
  constructor (message: string, options?: ErrorOptions) {
    super({ statusCode: 404, code: 'PAYLITH_HTTP_NOT_FOUND', slug: 'not-found', title: 'Not Found' }, message, options)
    this.name = 'NotFoundError'
  }
}

/** A dependency the service needs (DynamoDB, SQS) is not answering. */
export class DependencyUnavailableError extends AppError {
  constructor (message: string, options?: ErrorOptions) {
    super({ statusCode: 503, code: 'PAYLITH_DEPENDENCY_UNAVAILABLE', slug: 'dependency-unavailable', title: 'Service Unavailable' }, message, options)
    this.name = 'DependencyUnavailableError'
  }
}

/** No API key, or one that is not configured. */
export class UnauthorizedError extends AppError {
  constructor (message: string, options?: ErrorOptions) {
    super({ statusCode: 401, code: 'PAYLITH_AUTH_UNAUTHORIZED', slug: 'unauthorized', title: 'Unauthorized', headers: { 'www-authenticate': 'Bearer' } }, message, options)
    this.name = 'UnauthorizedError'
  }
}

/** A known API key without the scope the route needs. */
export class ForbiddenError extends AppError {
  constructor (message: string, options?: ErrorOptions) {
    super({ statusCode: 403, code: 'PAYLITH_AUTH_FORBIDDEN', slug: 'forbidden', title: 'Forbidden' }, message, options)
    this.name = 'ForbiddenError'
  }
}

/** A request that must carry an Idempotency-Key has none. */
export class IdempotencyKeyMissingError extends AppError {
  constructor (message: string, options?: ErrorOptions) {
    super({ statusCode: 400, code: 'PAYLITH_IDEMPOTENCY_KEY_MISSING', slug: 'idempotency-key-missing', title: 'Idempotency-Key Missing' }, message, options)
    this.name = 'IdempotencyKeyMissingError'
  }
}

/** The Idempotency-Key header is empty, too long or malformed. */
export class IdempotencyKeyInvalidError extends AppError {
  constructor (message: string, options?: ErrorOptions) {
    super({ statusCode: 400, code: 'PAYLITH_IDEMPOTENCY_KEY_INVALID', slug: 'idempotency-key-invalid', title: 'Idempotency-Key Invalid' }, message, options)
    this.name = 'IdempotencyKeyInvalidError'
  }
}

/** The key was used before with a different request body. */
export class IdempotencyKeyReusedError extends AppError {
  constructor (message: string, options?: ErrorOptions) {
    super({ statusCode: 422, code: 'PAYLITH_IDEMPOTENCY_KEY_REUSED', slug: 'idempotency-key-reused', title: 'Idempotency-Key Reused' }, message, options)
    this.name = 'IdempotencyKeyReusedError'
  }
}

/** Another request with the same key is still being processed. */
export class IdempotencyKeyInFlightError extends AppError {
  constructor (message: string, retryAfterSeconds: number, options?: ErrorOptions) {
    super({ statusCode: 409, code: 'PAYLITH_IDEMPOTENCY_KEY_IN_FLIGHT', slug: 'idempotency-key-in-flight', title: 'Idempotency-Key In Flight', headers: { 'retry-after': String(retryAfterSeconds) } }, message, options)
    this.name = 'IdempotencyKeyInFlightError'
  }
}

/** A write lost a race: the item changed since it was read (stale version). */
export class ConflictError extends AppError {
  constructor (message: string, options?: ErrorOptions) {
    super({ statusCode: 409, code: 'PAYLITH_CONFLICT', slug: 'conflict', title: 'Conflict' }, message, options)
    this.name = 'ConflictError'
  }
}

/** A pagination cursor that this service did not issue for this query. */
export class InvalidCursorError extends AppError {
  constructor (message: string, options?: ErrorOptions) {
    super({ statusCode: 400, code: 'PAYLITH_HTTP_INVALID_CURSOR', slug: 'invalid-cursor', title: 'Invalid Cursor' }, message, options)
    this.name = 'InvalidCursorError'
  }
}

/** A status change the payment lifecycle does not allow (backwards, sideways or in place). */
export class InvalidTransitionError extends AppError {
  constructor (message: string, options?: ErrorOptions) {
    super({ statusCode: 409, code: 'PAYLITH_PAYMENT_INVALID_TRANSITION', slug: 'invalid-transition', title: 'Invalid Status Transition' }, message, options)
    this.name = 'InvalidTransitionError'
  }
}

/** An event reached the Lambda handler in a shape no entrypoint handles. */
export class UnsupportedEventError extends Error {
  constructor (message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'UnsupportedEventError'
  }
}
