import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Deps } from '../../deps.js'
import { AlreadyRedrivenError, DependencyUnavailableError, NotFoundError, NotRedrivableError } from '../../domain/errors.js'
import { PAYMENT_ID_PATTERN } from '../../domain/ids.js'
import { ProblemResponse } from '../../http/schemas.js'
import { retry } from '../../lib/retry.js'
import type { DeadLetter } from '../../store/dead-letters.js'

/**
 * A redrive that started but never finished may be taken over after this long: well past the
 * SDK's own retries of a send, so a slow first send cannot race a second one.
 */
const REDRIVE_STALE_MS = 300_000

const DeadLetterSchema = Type.Object({
  messageId: Type.String(),
  body: Type.String(),
  attributes: Type.Record(Type.String(), Type.String()),
  messageAttributes: Type.Record(Type.String(), Type.Unknown()),
  sourceQueue: Type.String(),
  receiveCount: Type.Integer(),
  deadLetteredAt: Type.String({ format: 'date-time' }),
  kind: Type.Union([Type.Literal('message'), Type.Literal('stream-batch')]),
  status: Type.Union([Type.Literal('open'), Type.Literal('redriving'), Type.Literal('redriven')]),
  redrivenAt: Type.Optional(Type.String({ format: 'date-time' })),
  reason: Type.Optional(Type.String()),
  paymentId: Type.Optional(Type.String({ description: 'The payment its command names, if it exists.' }))
})

const Problems = { 400: ProblemResponse, 401: ProblemResponse, 403: ProblemResponse }

/** What the dead-letter routes need. */
export type DeadLetterRouteDeps = Pick<Deps, 'deadLetters' | 'workQueue' | 'clock'>

/** Admin: list dead letters and send one back to the work queue, once. */
export const deadLetterRoutes: FastifyPluginAsyncTypebox<{ deps: DeadLetterRouteDeps }> = async (app, { deps }) => {
  app.get('', {
    config: { auth: { scope: 'admin' } },
    schema: {
      summary: 'Messages that exhausted their retries, newest first.',
      description: 'With paymentId, only the dead letters of that payment (an index of its own, so every page is full until the last).',
      tags: ['dead letters'],
      querystring: Type.Object({
        limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
        cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
        paymentId: Type.Optional(Type.String({ pattern: PAYMENT_ID_PATTERN, description: '`pay_` followed by a ULID.' }))
      }, { additionalProperties: false }),
      response: { 200: Type.Object({ data: Type.Array(DeadLetterSchema), nextCursor: Type.Union([Type.String(), Type.Null()]) }), ...Problems }
    }
  }, async (request) => {
    const { limit, cursor, paymentId } = request.query
    const page = await deps.deadLetters.list({ limit, ...(cursor !== undefined && { cursor }), ...(paymentId !== undefined && { paymentId }) })
    return { data: page.deadLetters, nextCursor: page.nextCursor }
  })

  app.post('/:id/redrive', {
    config: { auth: { scope: 'admin' } },
    schema: {
      summary: 'Send a dead letter\'s original body back to the work queue, once.',
      description: 'A second redrive of the same dead letter is 409. Commands are idempotent, so a redriven message that already took effect changes nothing.',
      tags: ['dead letters'],
      params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) }),
      response: { 200: DeadLetterSchema, ...Problems, 404: ProblemResponse, 409: ProblemResponse, 422: ProblemResponse, 503: ProblemResponse }
    }
  }, async (request) => {
    const { id } = request.params
    const deadLetter = await deps.deadLetters.get(id)
    if (deadLetter === undefined) throw new NotFoundError(`dead letter ${id} does not exist`)
    if (deadLetter.kind !== 'message') throw new NotRedrivableError('this dead letter records a stream batch that exhausted its retries; there is no message to resend', { deadLetterId: id, kind: deadLetter.kind })
    if (!await deps.deadLetters.claimForRedrive(id, deps.clock(), REDRIVE_STALE_MS)) {
      throw new AlreadyRedrivenError(`dead letter ${id} is already ${deadLetter.status === 'open' ? 'being redriven' : deadLetter.status}`, { deadLetterId: id, status: deadLetter.status })
    }
    try {
      await deps.workQueue.redrive(deadLetter)
    } catch (error) {
      await deps.deadLetters.releaseClaim(id)
      throw new DependencyUnavailableError('the work queue did not take the message; the dead letter is still open, try again', { dependency: 'sqs', cause: error })
    }
    const now = deps.clock()
    // The message is on its way: record that, trying harder than usual, so a later redrive
    // cannot send it again.
    await retry(() => deps.deadLetters.markRedriven(id, now), { attempts: 3, delayMs: (attempt) => 100 * attempt })
    request.log.info({ deadLetter: id }, 'dead letter redriven')
    return { ...deadLetter, status: 'redriven' as const, redrivenAt: now.toISOString() } satisfies DeadLetter
  })
}
