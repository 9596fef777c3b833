import { QueryCommand, TransactionCanceledException } from '@aws-sdk/client-dynamodb'
import t from 'tap'
import { TABLE } from '../../src/aws/resources.js'
import { providerIdempotencyKey, type Payment } from '../../src/domain/payment.js'
import { UNSETTLED_SHARDS, unsettledPartition, unsettledShard } from '../../src/store/table.js'
import { build, bearer } from '../helpers/build.js'
import { storePayment } from '../helpers/payments.js'

const input = { amount: 500, currency: 'EUR', customerId: 'cus_store' }

t.test('a transition is a conditional write on version: a stale copy is a conflict, never a lost update', async (t) => {
  const { deps } = await build(t)
  const payment = await storePayment(deps, input)

  const processing = await deps.payments.transition(payment, 'processing')
  t.equal(processing.version, 2)
  await t.rejects(deps.payments.transition(payment, 'failed'), { name: 'VersionConflictError', code: 'PAYLITH_CONFLICT', data: { paymentId: payment.id, expectedVersion: 1 } }, 'the version-1 copy is stale')
  const stored = await deps.payments.get(payment.id)
  t.equal(stored?.status, 'processing', 'the stale write changed nothing')
  t.equal(stored?.version, 2)
})

t.test('of two concurrent transitions from the same version exactly one wins', async (t) => {
  const { deps } = await build(t)
  const payment = await storePayment(deps, input)

  const results = await Promise.allSettled([
    deps.payments.transition(payment, 'succeeded', { providerRef: 'pi_1' }),
    deps.payments.transition(payment, 'failed', { reason: 'card_declined' })
  ])
  t.equal(results.filter((r) => r.status === 'fulfilled').length, 1)
  t.equal(results.filter((r) => r.status === 'rejected' && (r.reason as Error).name === 'VersionConflictError').length, 1)
  const history = await deps.payments.history(payment.id)
  t.equal(history?.length, 2, 'one history entry per applied transition')
})

t.test('a move the lifecycle forbids is refused before any write', async (t) => {
  const { deps } = await build(t)
  const payment = await storePayment(deps, input)
  const failed = await deps.payments.transition(payment, 'failed', { reason: 'card_declined' })
  t.equal(failed.failureReason, 'card_declined')
  await t.rejects(deps.payments.transition(failed, 'succeeded'), { name: 'InvalidTransitionError', message: /cannot move from failed to succeeded/ })
  await t.rejects(deps.payments.transition(failed, 'failed'), { name: 'InvalidTransitionError' })
  t.equal((await deps.payments.get(payment.id))?.status, 'failed')
})

t.test('a forward skip (pending → succeeded, webhook before worker) is allowed and recorded', async (t) => {
  const { deps } = await build(t)
  const payment = await storePayment(deps, input)
  const succeeded = await deps.payments.transition(payment, 'succeeded', { providerRef: 'pi_9' })
  t.equal(succeeded.providerRef, 'pi_9')
  t.match(await deps.payments.history(payment.id), [{ status: 'pending', version: 1 }, { status: 'succeeded', previousStatus: 'pending', version: 2 }])
})

t.test('10 concurrent requests with the same key and body create exactly one payment', async (t) => {
  const { app } = await build(t)
  const responses = await Promise.all(Array.from({ length: 10 }, () => app.inject({
    method: 'POST',
    url: '/v1/payments',
    headers: { ...bearer(), 'idempotency-key': 'concurrent-1' },
    payload: { ...input, customerId: 'cus_concurrent' }
  })))
  const statuses = responses.map((r) => r.statusCode)
  t.ok(statuses.every((status) => status === 201 || status === 409), `every answer is 201 or 409: ${statuses.join(',')}`)
  const ids = new Set(responses.filter((r) => r.statusCode === 201).map((r) => r.json().id))
  t.equal(ids.size, 1, 'every 201 is the same payment')
  t.equal(responses.filter((r) => r.statusCode === 201 && r.headers['idempotent-replayed'] === undefined).length, 1, 'exactly one original')
  const list = await app.inject({ method: 'GET', url: '/v1/payments?customerId=cus_concurrent', headers: bearer() })
  t.equal(list.json().data.length, 1, 'exactly one payment exists')
})

t.test('a key whose first request is still in flight is 409 with Retry-After', async (t) => {
  const { app, deps } = await build(t)
  // Fault injection (the emulator never reports it): DynamoDB cancels a transaction with
  // TransactionConflict when another transaction holds the same item, i.e. the key's first
  // request is mid-write.
  deps.dynamodb.middlewareStack.add((next, context) => async (args) => {
    if (context.commandName === 'TransactWriteItemsCommand') {
      throw new TransactionCanceledException({
        message: 'Transaction cancelled',
        $metadata: {},
        CancellationReasons: [{ Code: 'TransactionConflict' }, { Code: 'None' }, { Code: 'None' }]
      })
    }
    return next(args)
  }, { step: 'initialize', name: 'injectTransactionConflict' })

  const response = await app.inject({ method: 'POST', url: '/v1/payments', headers: { ...bearer(), 'idempotency-key': 'in-flight' }, payload: input })
  t.equal(response.statusCode, 409)
  t.equal(response.headers['retry-after'], '1')
  t.match(response.headers['content-type'], /^application\/problem\+json/)
  t.equal(response.json().type, 'https://paylith.dev/problems/idempotency-key-in-flight')
})

t.test('a request that took its key but never answered (a crash) is replayed on retry, never charged twice', async (t) => {
  const { app, deps } = await build(t)
  // After the first attempt's transaction commits, the table holds the same state whether its
  // answer reached the client or the process died first; what matters is the next process.
  const payload = { ...input, customerId: 'cus_crash' }
  const first = await app.inject({ method: 'POST', url: '/v1/payments', headers: { ...bearer(), 'idempotency-key': 'crash-1' }, payload })
  // A new process (fresh deps, so no in-memory cache) receives the client's retry.
  const { app: restarted } = await build(t, { env: { TABLE_NAME: deps.config.tableName }, bootstrap: false })
  const retry = await restarted.inject({ method: 'POST', url: '/v1/payments', headers: { ...bearer(), 'idempotency-key': 'crash-1' }, payload })
  t.equal(retry.statusCode, 201)
  t.equal(retry.headers['idempotent-replayed'], 'true')
  t.equal(retry.json().id, first.json().id)
  const list = await restarted.inject({ method: 'GET', url: '/v1/payments?customerId=cus_crash', headers: bearer() })
  t.equal(list.json().data.length, 1)
})

t.test('a create whose transaction never committed is not remembered: the retry creates the payment, which can be read', async (t) => {
  const { app, deps } = await build(t)
  // Fault injection (the emulator cannot fail a write on demand): the first transaction fails
  // before DynamoDB commits anything, as a timeout or a 5xx would; nothing of it is stored.
  let failures = 1
  deps.dynamodb.middlewareStack.add((next, context) => async (args) => {
    if (context.commandName === 'TransactWriteItemsCommand' && failures > 0) {
      failures -= 1
      throw new Error('socket hang up')
    }
    return next(args)
  }, { step: 'initialize', name: 'failFirstTransaction' })
  const request = { method: 'POST' as const, url: '/v1/payments', headers: { ...bearer(), 'idempotency-key': 'never-committed' }, payload: { ...input, customerId: 'cus_uncommitted' } }

  const failed = await app.inject(request)
  t.equal(failed.statusCode, 500)
  t.equal(failed.json().type, 'https://paylith.dev/problems/internal')
  const retry = await app.inject(request)
  t.equal(retry.statusCode, 201)
  t.equal(retry.headers['idempotent-replayed'], undefined, 'a new payment, not a replay of one that was never stored')
  const read = await app.inject({ method: 'GET', url: `/v1/payments/${retry.json().id}`, headers: bearer() })
  t.equal(read.statusCode, 200, 'the payment the retry answered with exists')
})

t.test('attention is set only on an unsettled payment still at the version read, and a dead letter\'s replaces the sweeper\'s', async (t) => {
  const { deps } = await build(t)
  const payment = await storePayment(deps, input)
  const sweeper = { reason: 'unsettled-too-long', since: '2026-11-27T12:00:00.000Z' } as const
  const deadLetter = { reason: 'dead-lettered', since: '2026-11-27T12:05:00.000Z', deadLetterId: 'message-1' } as const

  t.equal(await deps.payments.flagAttention({ id: payment.id, version: 2 }, sweeper), false, 'not at another version')
  t.equal(await deps.payments.flagAttention({ id: 'pay_01JDQ3V0J6Q8ZC7W8E5T0R2N4M', version: 1 }, deadLetter), false, 'not on a payment that does not exist')
  t.equal(await deps.payments.flagAttention(payment, sweeper), true)
  t.equal(await deps.payments.flagAttention(payment, { ...sweeper, since: '2026-11-28T00:00:00.000Z' }), false, 'the sweeper\'s is set once')
  t.equal(await deps.payments.flagAttention(payment, deadLetter), true, 'a dead letter replaces it')
  t.equal(await deps.payments.flagAttention(payment, { ...deadLetter, since: '2026-11-28T00:00:00.000Z' }), false, 'the same dead letter once')
  t.equal(await deps.payments.flagAttention(payment, sweeper), false, 'the sweeper never replaces a dead letter\'s')
  t.same((await deps.payments.get(payment.id))?.attention, deadLetter)

  const settled = await deps.payments.transition(await deps.payments.transition(payment, 'processing'), 'succeeded', { providerRef: 'pi_attention' })
  t.notOk('attention' in settled, 'a transition clears it')
  t.notOk('attention' in (await deps.payments.get(payment.id) ?? {}), 'and so does the stored payment')
  t.equal(await deps.payments.flagAttention(settled, deadLetter), false, 'never on a settled payment')
})

t.test('a concurrent transition and flag: the transition wins on its version and the flag never survives it', async (t) => {
  const { deps } = await build(t)
  for (let i = 0; i < 5; i++) {
    const payment = await storePayment(deps, input)
    const [moved] = await Promise.all([
      deps.payments.transition(payment, 'processing'),
      deps.payments.flagAttention(payment, { reason: 'dead-lettered', since: new Date().toISOString(), deadLetterId: `message-${i}` })
    ])
    const stored = await deps.payments.get(payment.id)
    t.equal(moved.version, 2, 'the transition was not refused by the flag')
    t.equal(stored?.status, 'processing')
    t.notOk(stored !== undefined && 'attention' in stored, 'whichever landed first, the moved payment carries no attention')
  }
})

t.test('unsettled payments land in their own shard of GSI3 with only what the sweeper reads, and leave it when they settle', async (t) => {
  const { deps } = await build(t, { deps: { clock: () => new Date('2026-11-27T12:00:00.000Z') } })
  const day = '2026-11-27'
  const shardOf = async (shard: number) => (await deps.dynamodb.send(new QueryCommand({
    TableName: deps.config.tableName,
    IndexName: TABLE.gsi3.name,
    KeyConditionExpression: '#pk = :partition',
    ExpressionAttributeNames: { '#pk': TABLE.gsi3.partitionKey },
    ExpressionAttributeValues: { ':partition': { S: unsettledPartition(day, shard) } }
  }))).Items ?? []
  const everyShard = async () => (await Promise.all(Array.from({ length: UNSETTLED_SHARDS }, async (_, shard) => shardOf(shard)))).map((items) => items.map((item) => item.id?.S))
  const payments = []
  for (let i = 0; i < 100; i++) payments.push(await storePayment(deps, { customerId: `cus_shard_${i}` }))

  const placed = await everyShard()
  for (const payment of payments) t.ok(placed[unsettledShard(payment.id)]?.includes(payment.id), `${payment.id} in shard ${unsettledShard(payment.id)}`)
  t.equal(placed.flat().length, 100, 'each payment once')
  t.ok(placed.filter((ids) => ids.length > 0).length >= 10, `spread over ${placed.filter((ids) => ids.length > 0).length} of ${UNSETTLED_SHARDS} shards`)
  const [entry] = await shardOf(unsettledShard(payments[0]?.id ?? ''))
  t.same(Object.keys(entry ?? {}).sort(), ['createdAt', 'gsi3pk', 'gsi3sk', 'id', 'pk', 'sk', 'version'], 'keys and what the sweeper reads, nothing of the payment besides')
  t.equal((await deps.dynamodb.send(new QueryCommand({
    TableName: deps.config.tableName, IndexName: TABLE.gsi2.name, KeyConditionExpression: 'gsi2pk = :p', ExpressionAttributeValues: { ':p': { S: `UNSETTLED#${day}` } }, Select: 'COUNT'
  }))).Count, 0, 'nothing goes to GSI2\'s old partition any more')

  const [first, second] = payments as [Payment, Payment]
  const processing = await deps.payments.transition(first, 'processing')
  t.match((await shardOf(unsettledShard(first.id))).find((item) => item.id?.S === first.id), { version: { N: '2' } }, 'a status change still unsettled updates its entry')
  await deps.payments.transition(processing, 'succeeded', { providerRef: 'pi_shard_1' })
  await deps.payments.transition(second, 'failed', { reason: 'card_declined' })
  const after = (await everyShard()).flat()
  t.notOk(after.includes(first.id) || after.includes(second.id), 'settled payments leave the index')
  t.equal(after.length, 98)
})

t.test('a provider reference is recorded on a processing payment without a status change, and found by reference', async (t) => {
  const { deps } = await build(t)
  const processing = await deps.payments.transition(await storePayment(deps, { customerId: 'cus_ref' }), 'processing')
  const recorded = await deps.payments.recordProviderRef(processing, 'pi_ref_1')
  t.match(await deps.payments.get(processing.id), { providerRef: 'pi_ref_1', version: processing.version, status: 'processing' })
  t.equal((await deps.payments.findByProviderRef('pi_ref_1'))?.id, processing.id)
  t.equal(await deps.payments.recordProviderRef(recorded, 'pi_ref_1'), recorded, 'the same reference again is a no-op')
  t.equal((await deps.payments.history(processing.id))?.length, 2, 'no history event')
})

t.test('a provider reference is refused when the payment moved, holds another reference, or the reference is another payment\'s', async (t) => {
  const { deps } = await build(t)
  const processing = await deps.payments.transition(await storePayment(deps, { customerId: 'cus_ref' }), 'processing')
  await deps.payments.recordProviderRef(processing, 'pi_ref_a')
  await t.rejects(deps.payments.recordProviderRef(processing, 'pi_ref_b'), { name: 'VersionConflictError' }, 'another reference is already recorded')
  const moved = await deps.payments.transition(processing, 'failed')
  await t.rejects(deps.payments.recordProviderRef({ ...processing, version: moved.version }, 'pi_ref_c'), { name: 'VersionConflictError' }, 'no longer processing')
  const other = await deps.payments.transition(await storePayment(deps, { customerId: 'cus_ref' }), 'processing')
  await t.rejects(deps.payments.recordProviderRef(other, 'pi_ref_a'), /already belongs to another payment/)
})

t.test('a spent provider key moves a processing payment on to its next key, once per generation, without a status change', async (t) => {
  const { deps } = await build(t)
  const processing = await deps.payments.transition(await storePayment(deps, { customerId: 'cus_key' }), 'processing')
  t.equal(providerIdempotencyKey(processing), processing.id, 'the payment id until a key is spent')
  const first = await deps.payments.retireProviderKey(processing)
  t.equal(providerIdempotencyKey(first), `${processing.id}/1`)
  await t.rejects(deps.payments.retireProviderKey(processing), { name: 'VersionConflictError' }, 'a concurrent attempt that read generation 0 cannot spend generation 1')
  const second = await deps.payments.retireProviderKey(first)
  t.match(await deps.payments.get(processing.id), { providerKeyGeneration: 2, version: processing.version, status: 'processing' })
  t.equal(providerIdempotencyKey(second), `${processing.id}/2`)
  t.equal((await deps.payments.history(processing.id))?.length, 2, 'no history event')
  const referenced = await deps.payments.recordProviderRef(second, 'pi_key_1')
  await t.rejects(deps.payments.retireProviderKey(referenced), { name: 'VersionConflictError' }, 'not once the intent is recorded: it is retrieved, never created again')
  const pending = await storePayment(deps, { customerId: 'cus_key' })
  await t.rejects(deps.payments.retireProviderKey(pending), { name: 'VersionConflictError' }, 'only a processing payment')
})
