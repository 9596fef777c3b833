import { AsyncLocalStorage } from 'node:async_hooks'
import { randomBytes } from 'node:crypto'

const gatewayRequestId = new AsyncLocalStorage<string>()

/**
 * Runs `fn` (an API Gateway invocation) so that the request it carries is known by API
 * Gateway's own request id, never by an id the client sent.
 */
export function withGatewayRequestId<T> (requestId: string | undefined, fn: () => T): T {
  return requestId === undefined || requestId === '' ? fn() : gatewayRequestId.run(requestId, fn)
}

/** A new request id, `req_` and 16 random characters, for a request no gateway named. */
function newRequestId (): string {
  return `req_${randomBytes(12).toString('base64url')}`
}

/** The id of the HTTP request in progress: API Gateway's in Lambda, a new one otherwise. */
export function requestIdForRequest (): string {
  return gatewayRequestId.getStore() ?? newRequestId()
}
