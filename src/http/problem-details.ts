import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ErrorCode } from '../domain/errors.js'
import { throttledBySdk } from '../store/transient.js'
import { HttpErrorCode } from './errors.js'
import { REQUEST_ID_HEADER } from './request-id.js'
import { FASTIFY_PROBLEMS, OTHER_CLIENT_PROBLEM, PROBLEMS, problemOf, tabledProblem } from './problems.js'
import type { ProblemDetails } from './schemas.js'

const PROBLEM_CONTENT_TYPE = 'application/problem+json'

/** Sends a problem+json body with the status it carries and the request's id (header and body). */
export function sendProblem (reply: FastifyReply, problem: ProblemDetails): FastifyReply {
  const requestId = reply.request.id
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).header(REQUEST_ID_HEADER, requestId).send({ ...problem, requestId })
}

/**
 * The one place errors become responses: RFC 9457 problem+json for every error and for
 * unknown routes. An error whose code is in the problem table (src/http/problems.ts) is
 * answered as the table says (AWS throttling the SDK gave up on as `dependency-throttled`),
 * validation errors list every failing field, other 4xx keep their status, and anything else
 * is logged and answered as a generic 500.
 */
export function problemDetails (app: FastifyInstance): void {
  app.setErrorHandler(answerError)

  app.setNotFoundHandler((request, reply) => sendProblem(reply, problemOf(PROBLEMS[ErrorCode.notFound], ErrorCode.notFound, `No route ${request.method} ${request.url.split('?')[0]}`)))
}

/**
 * Answers one error as problem+json: the app's error handler, and Fastify's `frameworkErrors`
 * handler for what it refuses before routing (a URL that does not decode, a path parameter
 * over `maxParamLength`), which would otherwise be answered as plain JSON.
 */
export function answerError (thrown: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  // AWS throttling that outlasted the SDK's retries is a 503 to come back to, not a 500.
  const error = (throttledBySdk(thrown) as FastifyError | undefined) ?? thrown
  const tabled = tabledProblem(error)
  const problem = tabled === undefined ? toProblem(error, request) : { ...problemOf(tabled.kind, tabled.code, error.message), ...tabled.members }
  if (problem.status >= 500) {
    request.log.error({ err: error }, 'request failed')
  } else {
    request.log.info({ code: problem.code, status: problem.status }, problem.title)
  }
  if (tabled !== undefined) reply.headers(tabled.headers)
  return sendProblem(reply, problem)
}

function toProblem (error: FastifyError, request: FastifyRequest): ProblemDetails {
  if (error.validation !== undefined) {
    return {
      ...problemOf(PROBLEMS[HttpErrorCode.validation], HttpErrorCode.validation, `The request's ${error.validationContext ?? 'input'} is not valid.`),
      invalidParams: error.validation.map((issue) => ({
        name: fieldName(error.validationContext ?? 'input', issue.instancePath, issue.params),
        reason: issue.message ?? 'is not valid'
      }))
    }
  }
  const status = error.statusCode ?? 500
  if (status >= 400 && status < 500) {
    const known = FASTIFY_PROBLEMS[error.code] ?? { slug: `http-${status}`, title: OTHER_CLIENT_PROBLEM.title }
    return problemOf({ ...known, status }, `PAYLITH_HTTP_${status}`, error.message)
  }
  return problemOf(PROBLEMS[HttpErrorCode.internal], HttpErrorCode.internal, `An unexpected error occurred; quote request id ${request.id} when reporting it.`)
}

function fieldName (context: string, instancePath: string, params: Record<string, unknown>): string {
  const extra = params.missingProperty ?? params.additionalProperty
  const pointer = typeof extra === 'string' ? `${instancePath}/${extra}` : instancePath
  return `${context}${pointer === '' ? '' : pointer}`
}
