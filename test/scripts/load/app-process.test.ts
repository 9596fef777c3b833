import t from 'tap'
import { standardSecretOf, startAppProcess, startLoadEmulators } from '../../../scripts/load/app-process.js'

// The app process the load and chaos tools drive: emulators of their own, the app apart.

t.test('the webhook secret is read from WEBHOOK_SECRETS', async (t) => {
  t.equal(standardSecretOf({ WEBHOOK_SECRETS: 'stripe=whsec_a, standard=whsec_b' }), 'whsec_b')
  t.equal(standardSecretOf({ WEBHOOK_SECRETS: 'stripe=whsec_a' }), undefined)
  t.equal(standardSecretOf({}), undefined)
})

t.test('the app process dies by kill -9 and starts again on the same data; stop ends it', async (t) => {
  const emulators = await startLoadEmulators()
  t.teardown(() => emulators.stop())
  const app = await startAppProcess({ emulatorEnv: emulators.env })
  t.teardown(() => app.stop())
  const headers = { authorization: `Bearer ${app.apiKey}`, 'content-type': 'application/json' }
  const created = await fetch(`${app.url}/v1/payments`, { method: 'POST', headers: { ...headers, 'idempotency-key': 'crash-1' }, body: JSON.stringify({ amount: 1200, currency: 'EUR', customerId: 'cus_crash' }) })
  t.equal(created.status, 201)
  const { id } = await created.json() as { id: string }

  await app.crashAndRestart()
  const read = await fetch(`${app.url}/v1/payments/${id}`, { headers })
  t.equal(read.status, 200, 'the payment outlived the crash, at the same URL')
  const listening = app.lines().filter((line) => typeof line.msg === 'string' && line.msg.startsWith('paylith listening'))
  t.equal(listening.length, 2, 'lines() keeps the lines of both runs')

  await app.stop()
  await t.rejects(fetch(`${app.url}/health`, { signal: AbortSignal.timeout(2_000) }), 'nothing answers once stopped')
})
