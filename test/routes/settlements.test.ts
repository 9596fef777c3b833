import { gzipSync } from 'node:zlib'
import type { LightMyRequestResponse } from 'fastify'
import t from 'tap'
import type { Discrepancy, Settlement } from '../../src/store/settlements.js'
import { build, bearer, type Built, type Teardownable } from '../helpers/build.js'
import { storePayment } from '../helpers/payments.js'
import { waitFor } from '../helpers/wait.js'
import { assertProblem } from '../helpers/problems.js'
import { pollSettlements } from '../helpers/settlements.js'

const COUNTS = { matched: 3, amount_mismatch: 1, currency_mismatch: 0, status_mismatch: 0, unknown_payment: 2, duplicate_row: 0, malformed_row: 0, not_reconciled: 0 }

function settlement (id: string, startedAt: string): Settlement {
  return { id, provider: 'generic', fileKey: `settlements/generic/${id}.csv`, status: 'completed', rowsProcessed: 6, counts: { ...COUNTS }, totals: [{ currency: 'EUR', gross: 600, fee: 6, net: 594 }], startedAt, completedAt: startedAt }
}

const FIRST = 'stl_01JTESTAAAAAAAAAAAAAAAAAAA'
const SECOND = 'stl_01JTESTBBBBBBBBBBBBBBBBBBB'

async function withSettlements (t: Teardownable): Promise<Built> {
  const built = await build(t)
  await built.deps.settlements.save(settlement(FIRST, '2026-11-27T10:00:00.000Z'))
  await built.deps.settlements.save(settlement(SECOND, '2026-11-28T10:00:00.000Z'))
  const discrepancies: Discrepancy[] = [2, 5, 7].map((line) => ({ line, classification: 'unknown_payment', reason: 'no payment', file: { paymentId: `pay_${line}`, amount: 100 } }))
  await built.deps.settlements.putDiscrepancies(FIRST, discrepancies)
  return built
}

t.test('GET /v1/settlements/{id} answers the settlement, for admin keys only', async (t) => {
  const built = await withSettlements(t)
  const response = await built.app.inject({ method: 'GET', url: `/v1/settlements/${FIRST}`, headers: bearer('admin') })
  t.equal(response.statusCode, 200)
  t.same(response.json(), settlement(FIRST, '2026-11-27T10:00:00.000Z'))
  const forbidden = await built.app.inject({ method: 'GET', url: `/v1/settlements/${FIRST}`, headers: bearer('read') })
  t.equal(forbidden.statusCode, 403)
  t.match(forbidden.headers['content-type'], /^application\/problem\+json/)
})

t.test('a settlement stored before not_reconciled existed is answered with that count at 0, by the GET and the listing', async (t) => {
  const built = await build(t)
  const { not_reconciled: _absent, ...before } = COUNTS
  await built.deps.settlements.save({ ...settlement(FIRST, '2026-11-27T10:00:00.000Z'), counts: before as typeof COUNTS })
  const response = await built.app.inject({ method: 'GET', url: `/v1/settlements/${FIRST}`, headers: bearer('admin') })
  t.equal(response.statusCode, 200)
  t.same(response.json().counts, COUNTS)
  const listed = await built.app.inject({ method: 'GET', url: '/v1/settlements', headers: bearer('admin') })
  t.same(listed.json().data[0].counts, COUNTS)
})

t.test('an unknown settlement is a 404 problem, a malformed id a 400', async (t) => {
  const built = await withSettlements(t)
  const missing = await built.app.inject({ method: 'GET', url: '/v1/settlements/stl_01JTESTZZZZZZZZZZZZZZZZZZZ', headers: bearer('admin') })
  t.equal(missing.statusCode, 404)
  t.match(missing.json(), { status: 404, detail: /does not exist/ })
  const malformed = await built.app.inject({ method: 'GET', url: '/v1/settlements/pay_1/discrepancies', headers: bearer('admin') })
  t.equal(malformed.statusCode, 400)
  t.match(malformed.headers['content-type'], /^application\/problem\+json/)
})

t.test('GET /v1/settlements lists them newest first, a page at a time', async (t) => {
  const built = await withSettlements(t)
  const first = await built.app.inject({ method: 'GET', url: '/v1/settlements?limit=1', headers: bearer('admin') })
  t.equal(first.statusCode, 200)
  t.same(first.json().data.map((s: Settlement) => s.id), [SECOND])
  const second = await built.app.inject({ method: 'GET', url: `/v1/settlements?limit=1&cursor=${encodeURIComponent(first.json().nextCursor)}`, headers: bearer('admin') })
  t.same(second.json().data.map((s: Settlement) => s.id), [FIRST])
})

t.test('GET /v1/settlements/{id}/discrepancies pages through the rows by line', async (t) => {
  const built = await withSettlements(t)
  const first = await built.app.inject({ method: 'GET', url: `/v1/settlements/${FIRST}/discrepancies?limit=2`, headers: bearer('admin') })
  t.equal(first.statusCode, 200)
  t.same(first.json().data.map((d: Discrepancy) => d.line), [2, 5])
  t.match(first.json().data[0], { classification: 'unknown_payment', file: { paymentId: 'pay_2', amount: 100 } })
  const rest = await built.app.inject({ method: 'GET', url: `/v1/settlements/${FIRST}/discrepancies?limit=2&cursor=${first.json().nextCursor as string}`, headers: bearer('admin') })
  t.same(rest.json().data.map((d: Discrepancy) => d.line), [7])
  const bad = await built.app.inject({ method: 'GET', url: `/v1/settlements/${FIRST}/discrepancies?cursor=abc`, headers: bearer('admin') })
  t.equal(bad.statusCode, 400)
  t.match(bad.json(), { detail: /cursor/ })
  const none = await built.app.inject({ method: 'GET', url: '/v1/settlements/stl_01JTESTZZZZZZZZZZZZZZZZZZZ/discrepancies', headers: bearer('admin') })
  t.equal(none.statusCode, 404)
})

t.test('POST /v1/settlements refuses a file name with a folder, .., or another ending, and an unknown provider, naming every field', async (t) => {
  const built = await build(t)
  for (const fileName of ['a/b.csv', '../x.csv', 'x..csv', 'report.txt', '.hidden.csv', 'x.csv.zip']) {
    const response = await built.app.inject({ method: 'POST', url: '/v1/settlements', headers: { ...bearer('admin'), 'idempotency-key': `name-${fileName}` }, payload: { provider: 'generic', fileName } })
    t.equal(response.statusCode, 400, fileName)
    t.match(response.headers['content-type'], /^application\/problem\+json/)
    t.match(JSON.stringify(response.json()), /fileName/, `${fileName}: the problem names the field`)
  }
  const both = await built.app.inject({ method: 'POST', url: '/v1/settlements', headers: { ...bearer('admin'), 'idempotency-key': 'both' }, payload: { provider: 'paypal', fileName: 'a/b' } })
  t.equal(both.statusCode, 400)
  t.match(JSON.stringify(both.json()), /provider/)
  t.match(JSON.stringify(both.json()), /fileName/)
  const forbidden = await built.app.inject({ method: 'POST', url: '/v1/settlements', headers: bearer('write'), payload: { provider: 'generic', fileName: 'day.csv' } })
  t.equal(forbidden.statusCode, 403)
})

t.test('POST /v1/settlements answers a presigned PUT; the file put there with fetch is reconciled under that settlement', async (t) => {
  const built = await build(t)
  const payment = await built.deps.payments.transition(await storePayment(built.deps, { amount: 1000 }), 'succeeded')
  pollSettlements(t, built)

  const created = await built.app.inject({ method: 'POST', url: '/v1/settlements', headers: { ...bearer('admin'), 'idempotency-key': 'upload-1' }, payload: { provider: 'generic', fileName: 'november 27.csv.gz' } })
  t.equal(created.statusCode, 201)
  const { id, status, fileKey, uploadUrl, expiresAt } = created.json() as { id: string, status: string, fileKey: string, uploadUrl: string, expiresAt: string }
  t.match(id, /^stl_[0-9A-Z]{26}$/)
  t.equal(status, 'awaiting_upload')
  t.equal(fileKey, `settlements/generic/${id}/november 27.csv.gz`)
  t.match(new URL(uploadUrl).searchParams.get('X-Amz-Expires'), '900', 'valid 15 minutes')
  t.ok(Math.abs(Date.parse(expiresAt) - Date.now() - 900_000) < 60_000)
  t.match((await built.app.inject({ method: 'GET', url: `/v1/settlements/${id}`, headers: bearer('admin') })).json(), { id, status: 'awaiting_upload', provider: 'generic', rowsProcessed: 0 })

  const file = gzipSync(`paymentId,providerRef,type,amount,currency,settledAt,fee\n${payment.id},,charge,1000,EUR,,30\npay_01JUNKNOWN0000000000000000,,charge,5,EUR,,0\n`)
  const put = await fetch(uploadUrl, { method: 'PUT', body: file })
  t.equal(put.status, 200, 'S3 took the upload')

  const settlement = await waitFor('the uploaded file to be reconciled', async () => {
    const response = await built.app.inject({ method: 'GET', url: `/v1/settlements/${id}`, headers: bearer('admin') })
    const body = response.json() as Settlement
    return body.status === 'completed' ? body : undefined
  })
  t.match(settlement, { id, fileKey, rowsProcessed: 2, counts: { matched: 1, unknown_payment: 1 } })
  t.equal((await built.deps.settlements.list({ limit: 10 })).settlements.length, 1, 'the upload made no second settlement')

  // The same URL used again with other bytes: a new version of the object is a settlement of its own; the first stays as it is.
  await fetch(uploadUrl, { method: 'PUT', body: gzipSync(`paymentId,providerRef,type,amount,currency,settledAt,fee\n${payment.id},,charge,1000,EUR,,30\n`) })
  await waitFor('the second version to be reconciled', async () => {
    const { settlements } = await built.deps.settlements.list({ limit: 10 })
    return settlements.length === 2 && settlements.every((s) => s.status === 'completed') ? settlements : undefined
  })
  t.match(await built.deps.settlements.get(id), { status: 'completed', rowsProcessed: 2 })
})

/** POST /v1/settlements with an Idempotency-Key (none when `key` is undefined). */
async function createSettlement (built: Built, key: string | undefined, payload: object = { provider: 'generic', fileName: 'day.csv' }): Promise<LightMyRequestResponse> {
  return built.app.inject({ method: 'POST', url: '/v1/settlements', headers: { ...bearer('admin'), ...(key !== undefined && { 'idempotency-key': key }) }, payload })
}

t.test('POST /v1/settlements requires an Idempotency-Key, as payment creation does', async (t) => {
  const built = await build(t)
  const problem = assertProblem(t, await createSettlement(built, undefined), 400, 'idempotency-key-missing')
  t.match(problem.detail, /POST \/v1\/settlements needs an Idempotency-Key/)
  assertProblem(t, await built.app.inject({ method: 'POST', url: '/v1/settlements', headers: { ...bearer('admin'), 'idempotency-key': 'a,b' }, payload: { provider: 'generic', fileName: 'day.csv' } }), 400, 'idempotency-key-invalid')
  t.same((await built.deps.settlements.list({ limit: 10 })).settlements, [], 'no settlement was made')
})

t.test('the same key and body again answers the same settlement, its URL signed again for what is left of the same window', async (t) => {
  let now = Date.parse('2026-11-28T10:00:00.000Z')
  const built = await build(t, { deps: { clock: () => new Date(now) } })
  const first = await createSettlement(built, 'day-1')
  t.equal(first.statusCode, 201)
  const created = first.json()
  t.equal(first.headers['idempotent-replayed'], undefined)
  t.equal(created.expiresAt, '2026-11-28T10:15:00.000Z')

  now += 5 * 60_000
  const again = await createSettlement(built, 'day-1')
  t.equal(again.statusCode, 201)
  t.equal(again.headers['idempotent-replayed'], 'true')
  const replay = again.json()
  t.same({ ...replay, uploadUrl: undefined }, { ...created, uploadUrl: undefined }, 'the same id, status, file key and expiry')
  const url = new URL(replay.uploadUrl)
  t.equal(url.pathname, new URL(created.uploadUrl).pathname, 'for the same object')
  t.equal(url.searchParams.get('X-Amz-Expires'), '600', 'signed for the 10 minutes left, not 15 more')
  t.equal((await built.deps.settlements.list({ limit: 10 })).settlements.length, 1, 'one settlement')

  now += 11 * 60_000
  const late = await createSettlement(built, 'day-1')
  t.equal(late.headers['idempotent-replayed'], 'true')
  t.same(late.json(), created, 'past the window, the original answer as it was: its URL expired, as expiresAt says')
})

t.test('the same key with another body is the 422 payments use; another key is another settlement', async (t) => {
  const built = await build(t)
  const first = (await createSettlement(built, 'k1')).json()
  const problem = assertProblem(t, await createSettlement(built, 'k1', { provider: 'stripe', fileName: 'day.csv' }), 422, 'idempotency-key-reused')
  t.match(problem, { detail: /different request body/ })
  t.notMatch(problem.detail, /payment/, 'the detail names no payment: the key was a settlement\'s')
  const other = await createSettlement(built, 'k2')
  t.equal(other.statusCode, 201)
  t.not(other.json().id, first.id)
  // Keys are scoped per operation: a payment created with k1 is not this settlement's key.
  const payment = await built.app.inject({ method: 'POST', url: '/v1/payments', headers: { ...bearer('all'), 'idempotency-key': 'k1' }, payload: { amount: 100, currency: 'EUR', customerId: 'cus_1' } })
  t.equal(payment.statusCode, 201)
})

t.test('concurrent requests with one key make one settlement: each answer is it, or 409 while it is being written', async (t) => {
  const built = await build(t)
  const answers = await Promise.all(Array.from({ length: 10 }, async () => createSettlement(built, 'together')))
  const created = answers.filter((answer) => answer.statusCode === 201)
  t.ok(created.length >= 1)
  t.equal(new Set(created.map((answer) => answer.json().id)).size, 1, 'every 201 names the same settlement')
  for (const answer of answers.filter((answer) => answer.statusCode !== 201)) assertProblem(t, answer, 409, 'idempotency-key-in-flight')
  t.equal((await built.deps.settlements.list({ limit: 10 })).settlements.length, 1, 'one settlement')
  const retried = await createSettlement(built, 'together')
  t.equal(retried.json().id, created[0]?.json().id, 'a retry after the 409s gets it')
})

t.test('a settlement whose file never came is expired an hour after its upload URL expired, in GET and in the listing', async (t) => {
  let now = Date.parse('2026-11-28T10:00:00.000Z')
  const built = await build(t, { deps: { clock: () => new Date(now) } })
  const { id } = (await createSettlement(built, 'never-uploaded')).json()
  const get = async (): Promise<Settlement> => (await built.app.inject({ method: 'GET', url: `/v1/settlements/${id}`, headers: bearer('admin') })).json()
  t.match(await get(), { status: 'awaiting_upload', uploadExpiresAt: '2026-11-28T10:15:00.000Z' })
  now = Date.parse('2026-11-28T11:14:59.999Z')
  t.match(await get(), { status: 'awaiting_upload' }, 'an upload begun before 10:15 may still be arriving')
  now = Date.parse('2026-11-28T11:15:00.000Z')
  t.match(await get(), { id, status: 'expired', rowsProcessed: 0 })
  const listed = (await built.app.inject({ method: 'GET', url: '/v1/settlements', headers: bearer('admin') })).json()
  t.match(listed.data, [{ id, status: 'expired' }])
  t.match(await built.deps.settlements.get(id), { status: 'awaiting_upload' }, 'computed when read: nothing was written')
})
