import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { TEST_KEYS } from './helpers/build.js'
import { createPayment, listening, newDataDir, paymentStatus, stopServer, waitForLine } from './helpers/server.js'
import { waitFor } from './helpers/wait.js'

// `npm start` on DynamoDB Local: a pending refund is not stranded by the lost in-memory queue.

const auth = { authorization: `Bearer ${TEST_KEYS.all}` }

t.test('a refund whose command the stop lost is re-sent by the next npm start\'s boot recovery, and ends succeeded', async (t) => {
  const LOCAL_DATA_DIR = newDataDir()
  const LOCAL_FAULTS_FILE = join(newDataDir(), 'faults.json')
  writeFileSync(LOCAL_FAULTS_FILE, '{}')
  const first = await listening(t, { LOCAL_DATA_DIR, LOCAL_FAULTS_FILE, PROVIDER_TIMEOUT_MS: '60000' })
  const created = await createPayment(first.url, 'refund-restart-1', { amount: 4000, currency: 'EUR', customerId: 'cus_refund_restart' })
  const paymentId = created.body.id as string
  await waitFor('the payment succeeds', async () => await paymentStatus(first.url, paymentId) === 'succeeded', { timeoutMs: 20_000 })

  // From now the sandbox answers after a minute, so the refund is still pending when the server stops, and its command dies with the in-memory queue.
  writeFileSync(LOCAL_FAULTS_FILE, JSON.stringify({ provider: { latencyMs: 60_000 } }))
  await waitForLine(first.lines, (line) => line.msg === 'injected faults now in force (LOCAL_FAULTS_FILE)')
  const refund = await fetch(`${first.url}/v1/payments/${paymentId}/refunds`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json', 'idempotency-key': 'refund-restart-r1' }, body: JSON.stringify({ amount: 1500 }) })
  t.equal(refund.status, 201)
  const refundId = (await refund.json() as { id: string }).id
  await waitForLine(first.lines, (line) => line.msg === 'outbox: refund command sent' && line.refundId === refundId)
  t.equal(await stopServer(first), 0)

  const second = await listening(t, { LOCAL_DATA_DIR })
  const refundStatus = async () => (await (await fetch(`${second.url}/v1/refunds/${refundId}`, { headers: auth })).json() as { status: string }).status
  await waitFor('the refund succeeds', async () => await refundStatus() === 'succeeded', { timeoutMs: 20_000 })
  t.ok(second.lines.some((line) => line.resent === 1 && String(line.msg).includes('refund commands re-sent')), 'the boot sweep re-sent its refund command')
  t.equal(await paymentStatus(second.url, paymentId), 'partially_refunded')
  t.equal(await stopServer(second), 0)
})
