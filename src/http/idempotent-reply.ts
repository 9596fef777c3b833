import type { FastifyReply } from 'fastify'

/** The content type Fastify gives a body it serializes as JSON. */
const JSON_CONTENT_TYPE = 'application/json; charset=utf-8'

/** What an idempotent write answers: the stored status and body, and whether they are a replay. */
export interface IdempotentResult {
  statusCode: number
  body: unknown
  /**
   * The body already serialized, when the write made it (the JSON text its key stores): sent
   * as it is, so a body is serialized once, not once for the key and once for the response.
   */
  json?: string
  replayed: boolean
}

/**
 * Sends an idempotent write's answer, marked `Idempotent-Replayed: true` when it is the stored
 * answer of an earlier request with the key, and logs which it was with the ids it is about.
 */
export function sendIdempotent (reply: FastifyReply, result: IdempotentResult, ids: Record<string, string | undefined>, created: string): FastifyReply {
  reply.log.info(ids, result.replayed ? 'idempotent replay' : created)
  if (result.replayed) reply.header('idempotent-replayed', 'true')
  // A string sent as JSON skips the response schema's serializer (Fastify sends it as it is).
  if (result.json !== undefined) return reply.code(result.statusCode).type(JSON_CONTENT_TYPE).send(result.json)
  return reply.code(result.statusCode).send(result.body)
}
