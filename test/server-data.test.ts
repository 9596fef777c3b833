import t from 'tap'
import { createPayment, fakeJava, listening, newDataDir, paymentStatus, startServer, stopServer } from './helpers/server.js'
import { waitFor } from './helpers/wait.js'

// `npm start` on DynamoDB Local as a user runs it: data kept across restarts, nothing stranded
// by the lost in-memory queue, and what it says without Java 17.

const settled = (status: string | undefined) => status === 'succeeded' || status === 'failed'

t.test('npm start keeps payments and keys across a restart, and a payment created just before the stop settles', async (t) => {
  const LOCAL_DATA_DIR = newDataDir()
  const first = await listening(t, { LOCAL_DATA_DIR })
  const body = { amount: 2500, currency: 'EUR', customerId: 'cus_restart' }
  const created = await createPayment(first.url, 'restart-1', body)
  t.equal(created.status, 201)
  const id = created.body.id as string
  await waitFor('the first payment settles', async () => settled(await paymentStatus(first.url, id)), { timeoutMs: 20_000 })
  const late = await createPayment(first.url, 'restart-2', { ...body, amount: 2600 })
  t.equal(late.status, 201)
  t.equal(await stopServer(first), 0)

  const second = await listening(t, { LOCAL_DATA_DIR })
  t.equal(await paymentStatus(second.url, id), 'succeeded', 'the payment is readable')
  const replay = await createPayment(second.url, 'restart-1', body)
  t.equal(replay.status, 201)
  t.equal(replay.replayed, 'true', 'the key replays')
  t.equal(replay.body.id, id)
  await waitFor('the late payment settles', async () => settled(await paymentStatus(second.url, late.body.id as string)), { timeoutMs: 20_000 })
  t.equal(await stopServer(second), 0)
})

t.test('a stop abandons a charge in flight, and the next npm start re-sends the charges the lost queue held', async (t) => {
  const LOCAL_DATA_DIR = newDataDir()
  // The charge is still with the provider when the server stops: the stop abandons it, and its
  // message, left in the queue, dies with the in-memory queue.
  const first = await listening(t, { LOCAL_DATA_DIR, SANDBOX_LATENCY_MS: '60000', PROVIDER_TIMEOUT_MS: '60000' })
  const created = await createPayment(first.url, 'unclean-1', { amount: 3100, currency: 'EUR', customerId: 'cus_unclean' })
  await waitFor('the charge is in flight', async () => await paymentStatus(first.url, created.body.id as string) === 'processing', { timeoutMs: 20_000 })
  const stopping = Date.now()
  t.equal(await stopServer(first), 0, 'the stop did not wait for the provider')
  t.ok(Date.now() - stopping < 5_000, 'nor for the shutdown timeout')

  const second = await listening(t, { LOCAL_DATA_DIR })
  await waitFor('the payment settles', async () => settled(await paymentStatus(second.url, created.body.id as string)), { timeoutMs: 20_000 })
  t.ok(second.lines.some((line) => line.resent === 1), 'the boot sweep re-sent its charge')
  t.equal(await stopServer(second), 0)
})

t.test('npm start without Java says so in one line, with the fix', async (t) => {
  // 127 is what a shell answers for a command it cannot find.
  const server = startServer({ PATH: fakeJava('exit 127') })
  const [code] = await server.exited
  t.equal(code, 1)
  t.equal(server.stderr().trim().split('\n').length, 1, 'one line')
  t.match(server.stderr(), /java is not installed: DynamoDB Local needs a Java 17 runtime .*LOCAL_DYNAMODB=moto/)
})

t.test('npm start with a Java older than 17 says DynamoDB Local needs Java 17, in one line', async (t) => {
  const server = startServer({ PATH: fakeJava('echo "Error: UnsupportedClassVersionError: class file version 61.0" >&2; exit 1') })
  const [code] = await server.exited
  t.equal(code, 1)
  t.equal(server.stderr().trim().split('\n').length, 1, 'one line')
  t.match(server.stderr(), /UnsupportedClassVersionError.*DynamoDB Local needs Java 17.*LOCAL_DYNAMODB=moto/)
})
