import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { AppError, PROBLEM_BASE } from '../errors.js'
import type { ProblemDetails } from './schemas.js'

const PROBLEM_CONTENT_TYPE = 'application/problem+json'

/** Stable problem types for the 4xx errors Fastify itself raises. */
const FASTIFY_PROBLEMS: Record<string, { slug: string; title: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { slug: 'payload-too-large', title: 'Payload Too Large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { slug: 'unsupported-media-type', title: 'Unsupported Media Type' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { slug: 'malformed-request', title: 'Bad Request' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { slug: 'malformed-request', title: 'Bad Request' },
  FST_ERR_CTP_INVALID_JSON_BODY: { slug: 'malformed-request', title: 'Bad Request' }
}

/** Sends a problem+json body with the status it carries. */
export function sendProblem (reply: FastifyReply, problem: ProblemDetails): FastifyReply {
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(problem)
}

/**
 * The one place errors become responses: RFC 9457 problem+json for every error and for
 * unknown routes. AppErrors keep their status, validation errors list every failing field,
 * other 4xx keep theirs, and anything else is logged and answered as a generic 500.
 */
export function problemDetails (app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const problem = toProblem(error, request)
    if (problem.status >= 500) {
      request.log.error({ err: error }, 'request failed')
    } else {
      request.log.info({ code: problem.code, status: problem.status }, problem.title)
    }
    if (error instanceof AppError) reply.headers(error.headers)
    return sendProblem(reply, problem)
  })

  app.setNotFoundHandler((request, reply) => sendProblem(reply, {
    type: `${PROBLEM_BASE}not-found`,
    title: 'Not Found',
    status: 404,
    detail: `No route ${request.method} ${request.url.split('?')[0]}`,
    code: 'PAYLITH_HTTP_NOT_FOUND'
  }))
}

function toProblem (error: FastifyError, request: FastifyRequest): ProblemDetails {
  if (error instanceof AppError) {
    return { type: error.type, title: error.title, status: error.statusCode, detail: error.message, code: error.code }
  }
  if (error.validation !== undefined) {
    return {
      type: `${PROBLEM_BASE}validation`,
      title: 'Validation Failed',
      status: 400,
      detail: `The request's ${error.validationContext ?? 'input'} is not valid.`,
      code: 'PAYLITH_HTTP_VALIDATION',
      invalidParams: error.validation.map((issue) => ({
        name: fieldName(error.validationContext ?? 'input', issue.instancePath, issue.params),
        reason: issue.message ?? 'is not valid'
      }))
    }
  }
  const status = error.statusCode ?? 500
  if (status >= 400 && status < 500) {
    const known = FASTIFY_PROBLEMS[error.code]
    return {
      type: `${PROBLEM_BASE}${known?.slug ?? `http-${status}`}`,
      title: known?.title ?? 'Bad Request',
      status,
      detail: error.message,
      code: `PAYLITH_HTTP_${status}`
    }
  }
  return {
    type: `${PROBLEM_BASE}internal`,
    title: 'Internal Server Error',
    status: 500,
    detail: `An unexpected error occurred; quote request id ${request.id} when reporting it.`,
    code: 'PAYLITH_INTERNAL'
  }
}

function fieldName (context: string, instancePath: string, params: Record<string, unknown>): string {
  const extra = params.missingProperty ?? params.additionalProperty
  const pointer = typeof extra === 'string' ? `${instancePath}/${extra}` : instancePath
  return `${context}${pointer === '' ? '' : pointer}`
}
