import type { LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import { build, bearer, type TEST_KEYS } from '../helpers/build.js'
import { storePayment } from '../helpers/payments.js'

const PROBLEM = /^application\/problem\+json/

function assertProblem (t: Test, response: LightMyRequestResponse, status: number, type: string): void {
  t.equal(response.statusCode, status, `status ${status}`)
  t.match(response.headers['content-type'], PROBLEM, 'problem+json')
  t.equal(response.json().type, `https://paylith.dev/problems/${type}`)
}

t.test('GET /v1/payments without customerId lists every payment, newest first, page by page', async (t) => {
  const built = await build(t)
  const list = async (query: string, key: keyof typeof TEST_KEYS | null = 'read') => built.app.inject({ method: 'GET', url: `/v1/payments?${query}`, headers: key === null ? {} : bearer(key) })
  const created: string[] = []
  for (let i = 0; i < 23; i++) created.push((await storePayment(built.deps, { customerId: `cus_${i % 3}`, createdAt: new Date(Date.parse('2026-11-20T10:00:00.000Z') + i * 3_600_000) })).id)
  await built.deps.payments.transition(await built.deps.payments.get(created[4] ?? '') ?? (() => { throw new Error('missing') })(), 'canceled')

  t.test('by default 20, then the rest', async (t) => {
    const first = await list('')
    t.equal(first.statusCode, 200)
    t.equal(first.json().data.length, 20)
    t.match(first.json().data[0], { id: created[22], status: 'pending', amount: 100, currency: 'EUR' })
    t.type(first.json().nextCursor, 'string')
    const second = (await list(`cursor=${encodeURIComponent(first.json().nextCursor)}`)).json()
    t.equal(second.nextCursor, null)
    t.same([...first.json().data, ...second.data].map((payment: { id: string }) => payment.id), [...created].reverse(), 'every payment once, newest first')
  })

  t.test('status= filters, and a customer\'s listing takes it too', async (t) => {
    t.same((await list('status=canceled')).json(), { data: [(await list('customerId=cus_1&status=canceled')).json().data[0]], nextCursor: null })
    t.equal((await list('status=canceled')).json().data[0].id, created[4])
    t.same((await list('customerId=cus_0&status=canceled')).json().data, [])
    t.equal((await list('status=pending&limit=100')).json().data.length, 22)
  })

  t.test('limit is 1 to 100; status is a payment status; the cursor is the listing\'s own', async (t) => {
    assertProblem(t, await list('limit=0'), 400, 'validation')
    assertProblem(t, await list('limit=101'), 400, 'validation')
    t.equal((await list('limit=100')).json().data.length, 23)
    t.equal((await list('limit=1')).json().data.length, 1)
    assertProblem(t, await list('status=lost'), 400, 'validation')
    const { nextCursor } = (await list('limit=2')).json()
    assertProblem(t, await list(`status=pending&cursor=${encodeURIComponent(nextCursor)}`), 400, 'invalid-cursor')
    assertProblem(t, await list(`customerId=cus_0&cursor=${encodeURIComponent(nextCursor)}`), 400, 'invalid-cursor')
    const customerCursor = (await list('customerId=cus_0&limit=2')).json().nextCursor
    assertProblem(t, await list(`cursor=${encodeURIComponent(customerCursor)}`), 400, 'invalid-cursor')
    assertProblem(t, await list('cursor=garbage'), 400, 'invalid-cursor')
    assertProblem(t, await list(`cursor=${encodeURIComponent(`${Buffer.from('[1,2]').toString('base64url')}.x`)}`), 400, 'invalid-cursor')
  })

  t.test('it needs payments:read', async (t) => {
    assertProblem(t, await list('', null), 401, 'unauthorized')
    assertProblem(t, await list('', 'write'), 403, 'forbidden')
    t.equal((await list('', 'all')).statusCode, 200)
  })
})
