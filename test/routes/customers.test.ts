import t from 'tap'
import { build, bearer } from '../helpers/build.js'

t.test('GET /v1/customers/{id}/summary', async (t) => {
  const built = await build(t)
  await built.deps.summaries.apply({ id: 'pay_X', status: 'succeeded', amount: 700, currency: 'GBP', customerId: 'cus_r', version: 3, createdAt: '2026-11-27T09:00:00.000Z', updatedAt: '2026-11-27T09:00:01.000Z' })

  const response = await built.app.inject({ method: 'GET', url: '/v1/customers/cus_r/summary', headers: bearer('read') })
  t.equal(response.statusCode, 200)
  t.same(response.json(), { customerId: 'cus_r', totals: [{ currency: 'GBP', status: 'succeeded', count: 1, amount: 700 }], refunded: [], lastPaymentAt: '2026-11-27T09:00:00.000Z' })

  const empty = await built.app.inject({ method: 'GET', url: '/v1/customers/cus_none/summary', headers: bearer('read') })
  t.same(empty.json(), { customerId: 'cus_none', totals: [], refunded: [], lastPaymentAt: null })

  t.equal((await built.app.inject({ method: 'GET', url: '/v1/customers/cus_r/summary' })).statusCode, 401)
  t.equal((await built.app.inject({ method: 'GET', url: '/v1/customers/cus_r/summary', headers: bearer('write') })).statusCode, 403)
  const bad = await built.app.inject({ method: 'GET', url: '/v1/customers/bad%20id/summary', headers: bearer('read') })
  t.equal(bad.statusCode, 400)
  t.equal(bad.json().type, 'https://paylith.dev/problems/validation')
})
