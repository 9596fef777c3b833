import { defineError } from '../domain/errors.js'

/** Stable codes of the problems only the HTTP layer raises. */
export const HttpErrorCode = {
  unauthorized: 'PAYLITH_AUTH_UNAUTHORIZED',
  forbidden: 'PAYLITH_AUTH_FORBIDDEN',
  validation: 'PAYLITH_HTTP_VALIDATION',
  internal: 'PAYLITH_INTERNAL'
} as const

/** One code of a problem only the HTTP layer raises. */
export type HttpErrorCode = (typeof HttpErrorCode)[keyof typeof HttpErrorCode]

/** No API key, or one that is not configured. */
export class UnauthorizedError extends defineError('UnauthorizedError', HttpErrorCode.unauthorized) {}

/** A known API key without the scope the route needs. */
export class ForbiddenError extends defineError('ForbiddenError', HttpErrorCode.forbidden)<{ scope: string }> {}

/** Every error class the HTTP layer raises itself. */
export type HttpError = UnauthorizedError | ForbiddenError
