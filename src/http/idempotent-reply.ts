import type { FastifyReply } from 'fastify'

/** What an idempotent write answers: the stored status and body, and whether they are a replay. */
export interface IdempotentResult {
  statusCode: number
  body: unknown
  replayed: boolean
}

/**
 * Sends an idempotent write's answer, marked `Idempotent-Replayed: true` when it is the stored
 * answer of an earlier request with the key, and logs which it was with the ids it is about.
 */
export function sendIdempotent (reply: FastifyReply, result: IdempotentResult, ids: Record<string, string | undefined>, created: string): FastifyReply {
  reply.log.info(ids, result.replayed ? 'idempotent replay' : created)
  if (result.replayed) reply.header('idempotent-replayed', 'true')
  return reply.code(result.statusCode).send(result.body)
}
