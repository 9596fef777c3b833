/** Base URI of the stable problem `type`s paylith answers with. */
export const PROBLEM_BASE = 'https://paylith.dev/problems/'

/** What every AppError subclass declares about itself. */
export interface AppErrorSpec {
  statusCode: number
  code: `PAYLITH_${string}`
  slug: string
  title: string
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

  constructor (spec: AppErrorSpec, message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'AppError'
    this.statusCode = spec.statusCode
    this.code = spec.code
    this.type = PROBLEM_BASE + spec.slug
    this.title = spec.title
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

/** An event reached the Lambda handler in a shape no entrypoint handles. */
export class UnsupportedEventError extends Error {
  constructor (message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'UnsupportedEventError'
  }
}
