import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { ConnectionError, FastifyInstance } from 'fastify'
import { CLIENT_ERROR_PROBLEMS, problemOf } from './problems.js'
import type { ProblemDetails } from './schemas.js'

/** The problem document for what Node's HTTP server refuses before Fastify sees a request. */
export function clientErrorProblem (error: Pick<ConnectionError, 'code'>): ProblemDetails {
  const kind = error.code === 'HPE_HEADER_OVERFLOW' || error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? CLIENT_ERROR_PROBLEMS[error.code] : CLIENT_ERROR_PROBLEMS.other
  return problemOf(kind, `PAYLITH_HTTP_${kind.status}`, `The request was refused: ${kind.when}.`)
}

/**
 * Fastify's `clientErrorHandler`: answers what Node's HTTP parser refuses (headers over the
 * limit: 431, a request that is not HTTP: 400, too slow: 408) with problem+json, on the raw
 * socket, since there is no request to reply to, then closes the connection.
 */
export function answerClientError (this: FastifyInstance, error: ConnectionError, socket: Socket): void {
  // A reset connection has no one left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const problem = clientErrorProblem(error)
  this.log.info({ code: problem.code, status: problem.status, parserCode: error.code }, problem.title)
  if (!socket.writable) {
    socket.destroy()
    return
  }
  const body = JSON.stringify(problem)
  socket.end(`HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? ''}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
}
