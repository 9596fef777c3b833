import { Writable } from 'node:stream'
import t from 'tap'
import { createLocalContext } from '../../src/local/lambda-context.js'
import { createLogger } from '../../src/observability/logger.js'
import { build, bearer, type Built } from '../helpers/build.js'
import { jsonLines } from '../helpers/lines.js'
import { sqsRecord } from '../helpers/events.js'
import { createWebhookSafetyNet } from '../../src/workers/webhook-safety-net.js'
import { storePayment, storeSucceededPayment } from '../helpers/payments.js'

const context = () => createLocalContext('paylith-test', 30_000)

t.test('a dead-lettered message delivered twice is recorded once and alerted once', async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const logger = createLogger({ logLevel: 'info' }, new Writable({ write (chunk, _e, done) { lines.push(JSON.parse(String(chunk))); done() } }))
  const metrics = jsonLines()
  const built = await build(t, { logger, deps: { metricsDestination: metrics.sink } })
  const worker = built.workers.queues[built.config.queues.deadLetter.name]
  if (worker === undefined) throw new Error('no dead-letter worker')
  const record = sqsRecord(built.config.queues.deadLetter.name, '{"type":"charge","paymentId":"pay_1"}')

  // SQS delivers at least once: the same dead-letter-queue message may come twice.
  t.same(await worker({ Records: [record] }, context()), { batchItemFailures: [] })
  t.same(await worker({ Records: [record] }, context()), { batchItemFailures: [] })

  t.same((await built.deps.deadLetters.list({ limit: 10 })).deadLetters.map((d) => d.messageId), [record.messageId])
  built.deps.metrics.flush()
  t.same(metrics.lines.filter((line) => line.DeadLetters !== undefined).map((line) => [line.DeadLetters, line.kind]), [[1, 'message']], 'one alert metric, for the first delivery')
  t.equal(lines.filter((line) => line.msg === 'dead letter: a message exhausted its retries').length, 1, 'one error log line')
})

t.test('the DeadLetters alarm\'s metric is written even with LOG_LEVEL=silent, when the invocation ends', async (t) => {
  const metrics = jsonLines()
  const built = await build(t, { env: { LOG_LEVEL: 'silent' }, deps: { metricsDestination: metrics.sink } })
  const record = sqsRecord(built.config.queues.deadLetter.name, '{"type":"charge","paymentId":"pay_silent"}')
  t.same(await built.handler({ Records: [record] }, context()), { batchItemFailures: [] })
  t.same(metrics.lines.map((line) => [line.DeadLetters, line.kind]), [[1, 'message']])
})

t.test('a stream batch\'s failure record is stored as a stream-batch dead letter', async (t) => {
  const built = await build(t)
  const worker = built.workers.queues[built.config.queues.deadLetter.name]
  if (worker === undefined) throw new Error('no dead-letter worker')
  const body = JSON.stringify({ requestContext: { condition: 'RetryAttemptsExhausted' }, DDBStreamBatchInfo: { shardId: 's-1', startSequenceNumber: '1', endSequenceNumber: '9', batchSize: 9 } })
  const record = sqsRecord(built.config.queues.deadLetter.name, body)
  t.same(await worker({ Records: [record] }, context()), { batchItemFailures: [] })
  t.match(await built.deps.deadLetters.get(record.messageId), { kind: 'stream-batch', sourceQueue: 'stream', status: 'open', body })
})

t.test('a stream batch\'s failure record without a stream or a range keeps no records and says why', async (t) => {
  const built = await build(t)
  const noStream = await deadLetter(built, JSON.stringify({ DDBStreamBatchInfo: { shardId: 's-1', startSequenceNumber: '1', endSequenceNumber: '9', batchSize: 9 } }))
  t.match(await built.deps.deadLetters.get(noStream.messageId), { streamBatch: { shardId: 's-1', startSequenceNumber: '1', endSequenceNumber: '9', batchSize: 9, unavailable: 'the on-failure record names no stream' } })
  const noRange = await deadLetter(built, JSON.stringify({ DDBStreamBatchInfo: { streamArn: built.resources.streamArn, shardId: 's-1' } }))
  t.match(await built.deps.deadLetters.get(noRange.messageId), { streamBatch: { batchSize: 0, unavailable: 'the on-failure record names no sequence number range' } })
})

t.test('a stream batch is read back once: a redelivery of its failure record reads nothing again', async (t) => {
  const built = await build(t)
  let reads = 0
  const streams = await built.deps.streams()
  streams.middlewareStack.add((next) => async (args) => { reads += 1; return next(args) }, { step: 'initialize', name: 'countReads' })
  const body = JSON.stringify({ DDBStreamBatchInfo: { streamArn: built.resources.streamArn, shardId: 'shardId-00000000000000000000-gone', startSequenceNumber: '100', endSequenceNumber: '100', batchSize: 1 } })
  const record = await deadLetter(built, body)
  t.equal(reads, 1)
  t.match(await built.deps.deadLetters.get(record.messageId), { streamBatch: { unavailable: /./ } })
  await deadLetter(built, body, record)
  t.equal(reads, 1, 'the stored dead letter is kept as it is')
})

t.test('when the stream cannot be read for now the failure record is retried, not recorded without its records', async (t) => {
  const built = await build(t)
  // Fault injection (the emulator cannot throttle on demand): every stream read fails with a transient error.
  const streams = await built.deps.streams()
  streams.middlewareStack.add(() => async () => { throw Object.assign(new Error('Rate exceeded'), { name: 'LimitExceededException' }) }, { step: 'initialize', name: 'throttled' })
  const worker = built.workers.queues[built.config.queues.deadLetter.name]
  const record = sqsRecord(built.config.queues.deadLetter.name, JSON.stringify({ DDBStreamBatchInfo: { streamArn: built.resources.streamArn, shardId: 's-1', startSequenceNumber: '1', endSequenceNumber: '2', batchSize: 2 } }))
  t.same(await worker?.({ Records: [record] }, context()), { batchItemFailures: [{ itemIdentifier: record.messageId }] })
  t.equal(await built.deps.deadLetters.get(record.messageId), undefined)
})

/** Runs the dead-letter worker on one record with this body; answers the record. */
async function deadLetter (built: Built, body: string, record = sqsRecord(built.config.queues.deadLetter.name, body)) {
  const worker = built.workers.queues[built.config.queues.deadLetter.name]
  if (worker === undefined) throw new Error('no dead-letter worker')
  const response = await worker({ Records: [record] }, context())
  if (response.batchItemFailures.length > 0) throw new Error('the dead letter was not recorded')
  return record
}

const readPayment = async (built: Built, id: string) => (await built.app.inject({ method: 'GET', url: `/v1/payments/${id}`, headers: bearer('all') })).json()

t.test('a dead-lettered charge names its payment, and the payment shows attention with the dead letter\'s id until it moves', async (t) => {
  const now = new Date('2026-11-27T12:00:00.000Z')
  const built = await build(t, { deps: { clock: () => now } })
  const payment = await built.deps.payments.transition(await storePayment(built.deps), 'processing')

  const record = await deadLetter(built, JSON.stringify({ type: 'charge', paymentId: payment.id }))

  t.match(await built.deps.deadLetters.get(record.messageId), { paymentId: payment.id, status: 'open' }, 'the dead letter carries the payment id')
  const read = await readPayment(built, payment.id)
  t.equal(read.status, 'processing')
  t.same(read.attention, { reason: 'dead-lettered', since: now.toISOString(), deadLetterId: record.messageId })
  const listed = (await built.app.inject({ method: 'GET', url: `/v1/dead-letters?paymentId=${payment.id}`, headers: bearer('admin') })).json()
  t.same(listed.data.map((d: { messageId: string }) => d.messageId), [record.messageId], 'found by the payment filter')

  const stored = await built.deps.payments.get(payment.id)
  await built.deps.payments.transition(stored as NonNullable<typeof stored>, 'succeeded', { providerRef: 'pi_moved' })
  const moved = await readPayment(built, payment.id)
  t.equal(moved.status, 'succeeded')
  t.notOk('attention' in moved, 'the next status change clears it')
})

t.test('a dead-lettered refund command names its payment, and the refund still pending shows attention with the dead letter\'s id', async (t) => {
  const now = new Date('2026-11-27T12:00:00.000Z')
  const built = await build(t, { deps: { clock: () => now } })
  const payment = await storeSucceededPayment(built.deps, { amount: 1000 })
  const created = await built.app.inject({ method: 'POST', url: `/v1/payments/${payment.id}/refunds`, headers: { ...bearer('all'), 'idempotency-key': 'dead-refund' }, payload: { amount: 100 } })
  const refundId = created.json().id as string

  const record = await deadLetter(built, JSON.stringify({ type: 'refund', paymentId: payment.id, refundId }))

  t.match(await built.deps.deadLetters.get(record.messageId), { paymentId: payment.id, status: 'open' })
  const read = (await built.app.inject({ method: 'GET', url: `/v1/refunds/${refundId}`, headers: bearer('all') })).json()
  t.same(read.attention, { reason: 'dead-lettered', since: now.toISOString(), deadLetterId: record.messageId })
  t.notOk('attention' in (await readPayment(built, payment.id)), 'the succeeded payment is not the one stuck')
})

t.test('a dead-lettered apply-webhook names the payment its stored event names, by id or by provider reference', async (t) => {
  const built = await build(t)
  const byId = await storePayment(built.deps)
  const byRef = await built.deps.payments.transition(await storePayment(built.deps), 'processing', { providerRef: 'pi_by_ref' })
  const event = (eventId: string, names: { paymentId?: string, providerRef?: string }) => built.deps.webhooks.recordOnce({
    provider: 'standard', eventId, providerType: 'payment.succeeded', type: 'payment.succeeded', payload: Buffer.from('{}'), receivedAt: new Date().toISOString(), expiresAt: 2_000_000_000, ...names
  })
  await event('evt_by_id', { paymentId: byId.id })
  await event('evt_by_ref', { providerRef: 'pi_by_ref' })
  await event('evt_unknown', { providerRef: 'pi_nobody' })

  const first = await deadLetter(built, JSON.stringify({ type: 'apply-webhook', provider: 'standard', eventId: 'evt_by_id' }))
  const second = await deadLetter(built, JSON.stringify({ type: 'apply-webhook', provider: 'standard', eventId: 'evt_by_ref' }))
  const unknown = await deadLetter(built, JSON.stringify({ type: 'apply-webhook', provider: 'standard', eventId: 'evt_unknown' }))
  const missing = await deadLetter(built, JSON.stringify({ type: 'apply-webhook', provider: 'standard', eventId: 'evt_never_stored' }))

  t.equal((await built.deps.deadLetters.get(first.messageId))?.paymentId, byId.id)
  t.equal((await built.deps.deadLetters.get(second.messageId))?.paymentId, byRef.id)
  t.match((await readPayment(built, byId.id)).attention, { reason: 'dead-lettered', deadLetterId: first.messageId })
  t.match((await readPayment(built, byRef.id)).attention, { reason: 'dead-lettered', deadLetterId: second.messageId })
  for (const record of [unknown, missing]) {
    const stored = await built.deps.deadLetters.get(record.messageId)
    t.ok(stored !== undefined && !('paymentId' in stored), 'an event that names no known payment is recorded without one')
  }
})

t.test('a dead-lettered webhook event that names no known payment leaves the safety net: one dead letter, not one per re-send', async (t) => {
  const built = await build(t)
  const known = await storePayment(built.deps)
  const receivedAt = new Date(Date.now() - 3_600_000).toISOString()
  const event = (eventId: string, names: { paymentId?: string, providerRef?: string }) => built.deps.webhooks.recordOnce({
    provider: 'standard', eventId, providerType: 'payment.succeeded', type: 'payment.succeeded', payload: Buffer.from('{}'), receivedAt, expiresAt: 2_000_000_000, ...names
  })
  await event('evt_foreign', { providerRef: 'pi_another_app' })
  await event('evt_ours', { paymentId: known.id })
  const waiting = async () => (await built.deps.webhooks.listUnapplied(new Date().toISOString(), 10)).map((entry) => entry.eventId).sort()
  t.same(await waiting(), ['evt_foreign', 'evt_ours'], 'both stored events wait to be applied')

  const foreign = sqsRecord(built.config.queues.deadLetter.name, JSON.stringify({ type: 'apply-webhook', provider: 'standard', eventId: 'evt_foreign' }))
  await deadLetter(built, foreign.body, foreign)
  await deadLetter(built, JSON.stringify({ type: 'apply-webhook', provider: 'standard', eventId: 'evt_ours' }))

  t.same(await waiting(), ['evt_ours'], 'the event for a known payment stays: a re-send may yet apply it')
  t.match(await built.deps.webhooks.get('standard', 'evt_foreign'), { deadLetterId: foreign.messageId, applyGaveUpAt: String })
  const net = createWebhookSafetyNet(built.deps, { staleAfterMs: 60_000, maxPerRun: 10, maxResends: 5 })
  const scheduled = { version: '0', id: 'e', 'detail-type': 'Scheduled Event' as const, source: 'aws.events' as const, account: '1', time: '', region: 'us-east-1', resources: [], detail: {} }
  t.same(await net(scheduled, context()), { webhooksResent: 1, webhooksGivenUp: 0 }, 'the safety net re-sends the known payment\'s event only')
  t.notOk(await built.deps.webhooks.parkDeadLettered('standard', 'evt_foreign', 'another', new Date()), 'parked once: a redelivery of the dead letter changes nothing')
  t.notOk(await built.deps.webhooks.parkDeadLettered('standard', 'evt_never_stored', 'another', new Date()), 'an event never stored is not written')
  t.equal(await built.deps.webhooks.get('standard', 'evt_never_stored'), undefined)
})

t.test('a dead letter of a settled payment carries its id but flags nothing; malformed and foreign bodies name no payment', async (t) => {
  const built = await build(t)
  const settled = await built.deps.payments.transition(await storePayment(built.deps), 'succeeded', { providerRef: 'pi_settled' })
  const record = await deadLetter(built, JSON.stringify({ type: 'charge', paymentId: settled.id }))
  t.equal((await built.deps.deadLetters.get(record.messageId))?.paymentId, settled.id)
  t.notOk('attention' in await readPayment(built, settled.id), 'a settled payment needs no person')

  for (const body of ['not json', JSON.stringify({ type: 'charge', paymentId: 'x'.repeat(5000) }), JSON.stringify({ type: 'charge', paymentId: 'pay_01JDQ3V0J6Q8ZC7W8E5T0R2N4M' })]) {
    const other = await deadLetter(built, body)
    const stored = await built.deps.deadLetters.get(other.messageId)
    t.ok(stored !== undefined && !('paymentId' in stored), `no payment for ${body.slice(0, 40)}`)
  }
})

t.test('when flagging the payment fails the record is retried, and the redelivery flags it with the first recording\'s time', async (t) => {
  let now = new Date('2026-11-27T12:00:00.000Z')
  const built = await build(t, { deps: { clock: () => now } })
  const payment = await storePayment(built.deps)
  const worker = built.workers.queues[built.config.queues.deadLetter.name]
  if (worker === undefined) throw new Error('no dead-letter worker')
  // Fault injection: DynamoDB refuses the first UpdateItem (the flag), after the record was written.
  let failures = 1
  built.deps.dynamodb.middlewareStack.add((next, context) => async (args) => {
    if (context.commandName === 'UpdateItemCommand' && failures > 0) {
      failures -= 1
      throw new Error('injected: DynamoDB unavailable')
    }
    return next(args)
  }, { step: 'initialize', name: 'failFlagOnce' })
  const record = sqsRecord(built.config.queues.deadLetter.name, JSON.stringify({ type: 'charge', paymentId: payment.id }))

  t.same(await worker({ Records: [record] }, context()), { batchItemFailures: [{ itemIdentifier: record.messageId }] }, 'SQS will deliver it again')
  t.equal((await built.deps.deadLetters.get(record.messageId))?.status, 'open', 'the dead letter was recorded')
  t.notOk('attention' in await readPayment(built, payment.id))

  now = new Date('2026-11-27T12:05:00.000Z')
  await deadLetter(built, record.body, record)
  t.same((await readPayment(built, payment.id)).attention, { reason: 'dead-lettered', since: '2026-11-27T12:00:00.000Z', deadLetterId: record.messageId })
})

t.test('a late redelivery of a dead letter that was redriven does not flag the payment again', async (t) => {
  const built = await build(t)
  const payment = await storePayment(built.deps)
  const record = await deadLetter(built, JSON.stringify({ type: 'charge', paymentId: payment.id }))
  await built.deps.deadLetters.markRedriven(record.messageId, new Date())
  const stored = await built.deps.payments.get(payment.id)
  await built.deps.payments.transition(stored as NonNullable<typeof stored>, 'processing')

  await deadLetter(built, record.body, record)
  t.notOk('attention' in await readPayment(built, payment.id), 'the payment moved on after the redrive')
})
