import { randomUUID } from 'node:crypto'
import t from 'tap'
import { createPayment, customerPaymentIds, listening, stopServer } from './helpers/server.js'

// `npm start` on DynamoDB Local as a user runs it, attacked as issue 11 describes: many
// concurrent creates with one Idempotency-Key.

t.test('npm start keeps one payment per Idempotency-Key under 50 concurrent creates, 20 rounds in a row, with no 5xx', async (t) => {
  const server = await listening(t, {})
  for (let round = 0; round < 20; round++) {
    const customerId = `cus_round${round}${randomUUID().slice(0, 8)}`
    const body = { amount: 1000 + round, currency: 'EUR', customerId }
    const answers = await Promise.all(Array.from({ length: 50 }, async () => createPayment(server.url, `round-${round}-${customerId}`, body)))
    const statuses = new Set(answers.map((answer) => answer.status))
    t.same([...statuses].filter((status) => status !== 201 && status !== 409), [], `round ${round}: only 201 and 409 (in flight)`)
    const ids = new Set(answers.filter((answer) => answer.status === 201).map((answer) => answer.body.id))
    t.equal(ids.size, 1, `round ${round}: one payment id for the key`)
    t.same(await customerPaymentIds(server.url, customerId), [...ids], `round ${round}: one payment stored`)
  }
  t.equal(await stopServer(server), 0)
})

t.test('LOCAL_DYNAMODB=moto runs DynamoDB on moto, with a warning', async (t) => {
  const server = await listening(t, { LOCAL_DYNAMODB: 'moto' })
  t.ok(server.lines.some((line) => line.level === 40 && /without isolation/.test(String(line.msg))))
  t.notOk(server.lines.some((line) => /DynamoDB Local/.test(String(line.msg))))
  t.equal(await stopServer(server), 0)
})
