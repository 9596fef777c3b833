import t from 'tap'
import type { Discrepancy, Settlement } from '../../src/store/settlements.js'
import { build, bearer, type Built, type Teardownable } from '../helpers/build.js'

const COUNTS = { matched: 3, amount_mismatch: 1, currency_mismatch: 0, status_mismatch: 0, unknown_payment: 2, duplicate_row: 0, malformed_row: 0 }

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
