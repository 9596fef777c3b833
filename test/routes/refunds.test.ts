import t from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { build, bearer, type Built } from '../helpers/build.js'
import { storePayment, storeSucceededPayment } from '../helpers/payments.js'
import { toRefundResponse } from '../../src/routes/refunds/index.js'
import { createRefundUseCase, refundKeyScope } from '../../src/use-cases/create-refund.js'
import { assertProblem } from '../helpers/problems.js'

async function refund (built: Built, paymentId: string, payload: unknown, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return built.app.inject({
    method: 'POST',
    url: `/v1/payments/${paymentId}/refunds`,
    headers: { ...bearer('all'), 'idempotency-key': `key-${Math.random()}`, ...headers },
    payload: payload as Record<string, unknown>
  })
}

t.test('POST /v1/payments/{id}/refunds creates a pending refund of part of a succeeded payment', async (t) => {
  const built = await build(t)
  const payment = await storeSucceededPayment(built.deps, { amount: 1000 })
  const response = await refund(built, payment.id, { amount: 300, reason: 'requested_by_customer' })
  t.equal(response.statusCode, 201, response.body)
  const body = response.json()
  t.match(body, { id: /^re_[0-9A-HJKMNP-TV-Z]{26}$/, paymentId: payment.id, amount: 300, currency: 'EUR', status: 'pending', reason: 'requested_by_customer', createdAt: /^\d{4}-/, updatedAt: /^\d{4}-/ })
  t.same(Object.keys(body).sort(), ['amount', 'createdAt', 'currency', 'id', 'paymentId', 'reason', 'status', 'updatedAt'], 'no internal fields leak')
  t.equal(response.headers['idempotent-replayed'], undefined)

  const read = await built.app.inject({ method: 'GET', url: `/v1/refunds/${body.id as string}`, headers: bearer('read') })
  t.equal(read.statusCode, 200)
  t.same(read.json(), body, 'GET /v1/refunds/{id} answers the same refund')
})

t.test('without an amount a refund takes all that is still refundable; a free-text reason is kept, none is null', async (t) => {
  const built = await build(t)
  const payment = await storeSucceededPayment(built.deps, { amount: 1000 })
  t.equal((await refund(built, payment.id, { amount: 250, reason: 'the parcel came back damaged' })).json().reason, 'the parcel came back damaged')
  const rest = await refund(built, payment.id, {})
  t.equal(rest.statusCode, 201)
  t.match(rest.json(), { amount: 750, reason: null })
  const none = await refund(built, payment.id, {})
  const problem = assertProblem(t, none, 422, 'refund-exceeds-available')
  t.equal(problem.available, 0, 'nothing is left')
})

t.test('GET /v1/payments/{id}/refunds lists a payment\'s refunds oldest first', async (t) => {
  const built = await build(t)
  const payment = await storeSucceededPayment(built.deps, { amount: 1000 })
  const ids: string[] = []
  for (const amount of [100, 200, 300]) ids.push((await refund(built, payment.id, { amount })).json().id)
  const list = await built.app.inject({ method: 'GET', url: `/v1/payments/${payment.id}/refunds`, headers: bearer('read') })
  t.equal(list.statusCode, 200)
  t.same(list.json().data.map((r: { id: string, amount: number }) => [r.id, r.amount]), [[ids[0], 100], [ids[1], 200], [ids[2], 300]])

  const other = await storeSucceededPayment(built.deps)
  t.same((await built.app.inject({ method: 'GET', url: `/v1/payments/${other.id}/refunds`, headers: bearer('read') })).json(), { data: [] }, 'a payment without refunds lists none')
})

t.test('a payment that is not succeeded or partially_refunded is 409 payment-not-refundable', async (t) => {
  const built = await build(t)
  const pending = await storePayment(built.deps, { amount: 1000 })
  const problem = assertProblem(t, await refund(built, pending.id, { amount: 100 }), 409, 'payment-not-refundable')
  t.equal(problem.code, 'PAYLITH_REFUND_PAYMENT_NOT_REFUNDABLE')
  t.match(problem.detail, /is pending/)
  const failed = await built.deps.payments.transition(await storePayment(built.deps), 'failed', { reason: 'card_declined' })
  assertProblem(t, await refund(built, failed.id, {}), 409, 'payment-not-refundable')
  t.same((await built.deps.refunds.listByPayment(pending.id)), [], 'nothing written')
})

t.test('more than is still refundable is 422 refund-exceeds-available, naming the available amount', async (t) => {
  const built = await build(t)
  const payment = await storeSucceededPayment(built.deps, { amount: 1000 })
  t.equal((await refund(built, payment.id, { amount: 600 })).statusCode, 201)
  const problem = assertProblem(t, await refund(built, payment.id, { amount: 500 }), 422, 'refund-exceeds-available')
  t.equal(problem.code, 'PAYLITH_REFUND_EXCEEDS_AVAILABLE')
  t.equal(problem.available, 400)
  t.match(problem.detail, /400 EUR/)
  t.equal((await refund(built, payment.id, { amount: 400 })).statusCode, 201, 'exactly what is left is fine')
})

t.test('an unknown payment is 404, for a refund and for its list; a malformed id is 400', async (t) => {
  const built = await build(t)
  const id = built.deps.ids()
  assertProblem(t, await refund(built, id, { amount: 100 }), 404, 'not-found')
  assertProblem(t, await built.app.inject({ method: 'GET', url: `/v1/payments/${id}/refunds`, headers: bearer() }), 404, 'not-found')
  assertProblem(t, await built.app.inject({ method: 'GET', url: `/v1/refunds/${built.deps.refundIds()}`, headers: bearer() }), 404, 'not-found')
  assertProblem(t, await built.app.inject({ method: 'GET', url: '/v1/refunds/re_nope', headers: bearer() }), 400, 'validation')
  assertProblem(t, await refund(built, 'pay_nope', {}), 400, 'validation')
})

t.test('the body is validated: every failing field is listed', async (t) => {
  const built = await build(t)
  const payment = await storeSucceededPayment(built.deps)
  const problem = assertProblem(t, await refund(built, payment.id, { amount: 0, reason: 'x'.repeat(201), currency: 'EUR' }), 400, 'validation')
  const names = (problem.invalidParams as Array<{ name: string }>).map((param) => param.name).sort()
  t.same(names, ['body/amount', 'body/currency', 'body/reason'])
  assertProblem(t, await refund(built, payment.id, { amount: 1.5 }), 400, 'validation')
})

t.test('scopes: refunding needs payments:write, reading needs payments:read', async (t) => {
  const built = await build(t)
  const payment = await storeSucceededPayment(built.deps)
  assertProblem(t, await refund(built, payment.id, {}, bearer('read')), 403, 'forbidden')
  assertProblem(t, await built.app.inject({ method: 'POST', url: `/v1/payments/${payment.id}/refunds`, headers: { 'idempotency-key': 'k' }, payload: {} }), 401, 'unauthorized')
  assertProblem(t, await built.app.inject({ method: 'GET', url: `/v1/payments/${payment.id}/refunds`, headers: bearer('write') }), 403, 'forbidden')
  assertProblem(t, await built.app.inject({ method: 'GET', url: `/v1/refunds/${built.deps.refundIds()}`, headers: bearer('admin') }), 403, 'forbidden')
})

t.test('Idempotency-Key, as for payment creation', async (t) => {
  const built = await build(t)
  const payment = await storeSucceededPayment(built.deps, { amount: 1000 })

  t.test('missing is 400', async (t) => {
    const response = await built.app.inject({ method: 'POST', url: `/v1/payments/${payment.id}/refunds`, headers: bearer(), payload: { amount: 1 } })
    assertProblem(t, response, 400, 'idempotency-key-missing')
  })

  t.test('the same key and body replays the original answer, and refunds once', async (t) => {
    const first = await refund(built, payment.id, { amount: 100 }, { 'idempotency-key': 'refund-once' })
    const again = await refund(built, payment.id, { amount: 100 }, { 'idempotency-key': 'refund-once' })
    t.equal(again.statusCode, 201)
    t.equal(again.headers['idempotent-replayed'], 'true')
    t.same(again.json(), first.json())
    t.equal((await built.deps.refunds.listByPayment(payment.id)).filter((r) => r.amount === 100).length, 1)
  })

  t.test('a replay answers as it did even once the payment could not give that amount any more', async (t) => {
    const other = await storeSucceededPayment(built.deps, { amount: 500 })
    const instanceOne = createRefundUseCase({ ...built.deps, ids: built.deps.refundIds, idempotencyTtlSeconds: 86_400 }, (r) => ({ statusCode: 201, body: toRefundResponse(r) }))
    const first = await instanceOne({ paymentId: other.id, input: {}, scope: refundKeyScope('another-instance'), key: 'refund-all' })
    t.equal(first.body.amount, 500)
    // Another instance (no cache of its own): the transaction itself finds the key.
    const instance = createRefundUseCase({ ...built.deps, ids: built.deps.refundIds, idempotencyTtlSeconds: 86_400 }, (r) => ({ statusCode: 201, body: toRefundResponse(r) }))
    const replay = await instance({ paymentId: other.id, input: {}, scope: refundKeyScope('another-instance'), key: 'refund-all' })
    const original = await instance({ paymentId: other.id, input: {}, scope: refundKeyScope('instance-two'), key: 'refund-all' }).catch((error: Error) => error)
    t.match(original, { name: 'RefundExceedsAvailableError' }, 'a new key finds nothing left')
    t.equal(replay.statusCode, 201)
    t.equal(replay.replayed, true)
    t.same(replay.body, first.body)
    t.equal(first.resourceId, first.body.id, 'a new refund names itself')
    t.equal(replay.resourceId, first.body.id, 'and so does its replay, read from the key\'s record (the route logs it as refundId)')
  })

  t.test('the same key with another body is 422 and refunds nothing', async (t) => {
    await refund(built, payment.id, { amount: 10 }, { 'idempotency-key': 'refund-reused' })
    assertProblem(t, await refund(built, payment.id, { amount: 11 }, { 'idempotency-key': 'refund-reused' }), 422, 'idempotency-key-reused')
    t.equal((await built.deps.refunds.listByPayment(payment.id)).filter((r) => r.amount === 11).length, 0)
  })

  t.test('the same key for another payment is 422', async (t) => {
    const other = await storeSucceededPayment(built.deps)
    await refund(built, payment.id, { amount: 5 }, { 'idempotency-key': 'refund-other' })
    assertProblem(t, await refund(built, other.id, { amount: 5 }, { 'idempotency-key': 'refund-other' }), 422, 'idempotency-key-reused')
  })

  t.test('a key used to create a payment is another key for a refund', async (t) => {
    const created = await built.app.inject({ method: 'POST', url: '/v1/payments', headers: { ...bearer(), 'idempotency-key': 'shared-key' }, payload: { amount: 100, currency: 'EUR', customerId: 'cus_1' } })
    t.equal(created.statusCode, 201)
    t.equal((await refund(built, payment.id, { amount: 7 }, { 'idempotency-key': 'shared-key' })).statusCode, 201)
  })

  t.test('two concurrent requests with one key: one refund, the other replays it or is told to retry (409)', async (t) => {
    const responses = await Promise.all([1, 2].map(async () => refund(built, payment.id, { amount: 3 }, { 'idempotency-key': 'refund-race' })))
    t.ok(responses.some((response) => response.statusCode === 201 && response.headers['idempotent-replayed'] === undefined), 'one made it')
    for (const response of responses) t.ok([201, 409].includes(response.statusCode), `answered ${response.statusCode}`)
    t.equal((await built.deps.refunds.listByPayment(payment.id)).filter((r) => r.amount === 3).length, 1)
  })
})

t.test('20 concurrent partial refunds whose sum exceeds the amount: the total never exceeds it, the losers get 422 with what is available', async (t) => {
  const built = await build(t)
  const payment = await storeSucceededPayment(built.deps, { amount: 1000 })
  const responses = await Promise.all(Array.from({ length: 20 }, async () => refund(built, payment.id, { amount: 70 })))
  const created = responses.filter((response) => response.statusCode === 201)
  const refused = responses.filter((response) => response.statusCode !== 201)
  t.equal(created.length, 14, '14 × 70 = 980 fit in 1000')
  for (const response of refused) {
    const problem = assertProblem(t, response, 422, 'refund-exceeds-available')
    t.equal(problem.available, 20)
  }
  const stored = await built.deps.payments.get(payment.id)
  t.equal(stored?.amountReserved, 980)
  t.equal((await built.deps.refunds.listByPayment(payment.id)).reduce((sum, r) => sum + r.amount, 0), 980)
})

t.test('a payment shows what was refunded so far', async (t) => {
  const built = await build(t)
  const payment = await storeSucceededPayment(built.deps, { amount: 1000 })
  const created = (await refund(built, payment.id, { amount: 400 })).json()
  const stored = await built.deps.refunds.get(created.id)
  if (stored !== undefined) await built.deps.refunds.settle(stored, { status: 'succeeded' })
  const read = await built.app.inject({ method: 'GET', url: `/v1/payments/${payment.id}`, headers: bearer() })
  t.match(read.json(), { status: 'partially_refunded', amountRefunded: 400 })
  t.equal((await built.app.inject({ method: 'GET', url: `/v1/refunds/${created.id as string}`, headers: bearer() })).json().status, 'succeeded')
})
