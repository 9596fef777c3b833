import type { FastifyInstance } from 'fastify'

/** The response header that names the request, as Stripe's does, so a report can be matched to the logs. */
export const REQUEST_ID_HEADER = 'request-id'

/** Answers every response with the request's id in a `Request-Id` header. */
export function requestIdHeader (app: FastifyInstance): void {
  app.addHook('onRequest', (request, reply, done) => {
    reply.header(REQUEST_ID_HEADER, request.id)
    done()
  })
}
