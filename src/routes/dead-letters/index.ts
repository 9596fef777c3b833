import * as Type from '@sinclair/typebox'
import type { Static } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Deps } from '../../deps.js'
import { AlreadyRedrivenError, DependencyUnavailableError, NotFoundError, NotRedrivableError } from '../../domain/errors.js'
import { PAYMENT_ID_PATTERN } from '../../domain/ids.js'
import { ProblemResponse } from '../../http/schemas.js'
import { retry } from '../../lib/retry.js'
import type { DeadLetter } from '../../store/dead-letters.js'
import { createStreamReplay, type StreamWorkerDeps } from '../../workers/index.js'

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
  paymentId: Type.Optional(Type.String({ description: 'The payment its command names, if it exists.' })),
  streamBatch: Type.Optional(Type.Object({
    shardId: Type.String(),
    startSequenceNumber: Type.String(),
    endSequenceNumber: Type.String(),
    batchSize: Type.Integer({ description: 'How many records Lambda discarded.' }),
    recordsKept: Type.Integer({ description: 'The records of the range read back from the stream and kept: what a redrive runs again.' }),
    unavailable: Type.Optional(Type.String({ description: 'Why the records could not be read back (the stream keeps them 24 hours); such a dead letter cannot be redriven.' }))
  }, { description: 'For a stream batch: the range Lambda discarded and what was kept of it.' }))
})

/** A dead letter as the API shows it: a stream batch's records are counted, not listed. */
function view (deadLetter: DeadLetter): Static<typeof DeadLetterSchema> {
  const { streamBatch, ...rest } = deadLetter
  if (streamBatch === undefined) return rest
  const { records, streamArn: _arn, ...batch } = streamBatch
  return { ...rest, streamBatch: { ...batch, recordsKept: records?.length ?? 0 } }
}

const Problems = { 400: ProblemResponse, 401: ProblemResponse, 403: ProblemResponse }

/** What the dead-letter routes need. */
export type DeadLetterRouteDeps = Pick<Deps, 'deadLetters' | 'workQueue' | 'clock'> & StreamWorkerDeps

/** Admin: list dead letters and redrive one, once: a message back to the work queue, a stream batch through the stream handlers. */
export const deadLetterRoutes: FastifyPluginAsyncTypebox<{ deps: DeadLetterRouteDeps }> = async (app, { deps }) => {
  const replay = createStreamReplay(deps)
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
    return { data: page.deadLetters.map(view), nextCursor: page.nextCursor }
  })

  app.post('/:id/redrive', {
    config: { auth: { scope: 'admin' } },
    schema: {
      summary: 'Send a dead letter\'s original body back to the work queue, or run a stream batch\'s records again, once.',
      description: 'A message goes back to the work queue. A stream batch\'s records (read back from the stream when it was dead-lettered) run again through the stream handlers, in stream order: a charge command is relayed, a webhook event\'s apply-webhook command, the customer summary. A second redrive of the same dead letter is 409. Commands and stream handlers are idempotent, so what already took effect changes nothing. A stream batch whose records could not be read back is 422.',
      tags: ['dead letters'],
      params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) }),
      response: { 200: DeadLetterSchema, ...Problems, 404: ProblemResponse, 409: ProblemResponse, 422: ProblemResponse, 503: ProblemResponse }
    }
  }, async (request) => {
    const { id } = request.params
    const deadLetter = await deps.deadLetters.get(id)
    if (deadLetter === undefined) throw new NotFoundError(`dead letter ${id} does not exist`)
    const records = deadLetter.kind === 'stream-batch' ? deadLetter.streamBatch?.records : undefined
    if (deadLetter.kind === 'stream-batch' && records === undefined) {
      throw new NotRedrivableError(`this dead letter records a stream batch whose records could not be read back from the stream, so there is nothing to run again: ${deadLetter.streamBatch?.unavailable ?? 'they were never read'}`, { deadLetterId: id, kind: deadLetter.kind })
    }
    if (!await deps.deadLetters.claimForRedrive(id, deps.clock(), REDRIVE_STALE_MS)) {
      throw new AlreadyRedrivenError(`dead letter ${id} is already ${deadLetter.status === 'open' ? 'being redriven' : deadLetter.status}`, { deadLetterId: id, status: deadLetter.status })
    }
    if (records !== undefined) {
      const failedAt = await replay(records).catch(async (error: unknown) => {
        await deps.deadLetters.releaseClaim(id)
        throw error
      })
      if (failedAt !== undefined) {
        await deps.deadLetters.releaseClaim(id)
        throw new DependencyUnavailableError(`the stream handlers failed on record ${failedAt === '' ? '(unknown)' : failedAt}; the dead letter is still open, try again`, { dependency: 'stream-handlers' })
      }
    } else {
      try {
        await deps.workQueue.redrive(deadLetter)
      } catch (error) {
        await deps.deadLetters.releaseClaim(id)
        throw new DependencyUnavailableError('the work queue did not take the message; the dead letter is still open, try again', { dependency: 'sqs', cause: error })
      }
    }
    const now = deps.clock()
    // The message is on its way: record that, trying harder than usual, so a later redrive
    // cannot send it again.
    await retry(() => deps.deadLetters.markRedriven(id, now), { attempts: 3, delayMs: (attempt) => 100 * attempt })
    request.log.info({ deadLetter: id, kind: deadLetter.kind, ...(records !== undefined && { records: records.length }) }, 'dead letter redriven')
    return view({ ...deadLetter, status: 'redriven' as const, redrivenAt: now.toISOString() })
  })
}
