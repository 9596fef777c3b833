import t from 'tap'
import { createLocalContext } from '../../src/local/lambda-context.js'
import type { SandboxProvider } from '../../src/providers/sandbox.js'
import { createChargeHandler } from '../../src/workers/charge.js'
import { build } from '../helpers/build.js'
import { storePayment } from '../helpers/payments.js'
import { sqsEvent, sqsRecord } from '../helpers/events.js'

const HOUR = 3_600_000

t.test('a payment processing for longer than the providers keep idempotency keys is not charged again', async (t) => {
  const now = new Date('2026-11-27T12:00:00.000Z')
  const { deps } = await build(t, { deps: { clock: () => now } })
  const payment = await storePayment(deps, { customerId: 'cus_old', createdAt: new Date(now.getTime() - 30 * HOUR) })
  await deps.payments.transition(payment, 'processing')
  const charge = createChargeHandler(deps)
  await t.rejects(charge({ type: 'charge', paymentId: payment.id }, sqsRecord('q', '{}'), createLocalContext('paylith-test', 30_000)), { name: 'StaleChargeError' })
  t.equal((await deps.payments.get(payment.id))?.status, 'processing', 'left for a person, through the dead-letter queue')
})

t.test('a payment awaiting the provider\'s webhook is acknowledged without another provider call', async (t) => {
  const { deps } = await build(t)
  const payment = await storePayment(deps, { customerId: 'cus_wait' })
  const processing = await deps.payments.transition(payment, 'processing')
  await deps.payments.markAwaitingProvider(processing, 'pi_wait')
  const charge = createChargeHandler(deps)
  await charge({ type: 'charge', paymentId: payment.id }, sqsRecord('q', '{}'), createLocalContext('paylith-test', 30_000))
  t.equal((deps.provider as SandboxProvider).attemptsFor(payment.id), 0, 'the (sandbox) provider was not called')
  t.equal((await deps.payments.get(payment.id))?.status, 'processing')
})

t.test('a provider outage fails the message for redelivery after exactly PROVIDER_MAX_ATTEMPTS calls, leaving the payment processing', async (t) => {
  const { deps, workers, config } = await build(t, { env: { PROVIDER_MAX_ATTEMPTS: '2', PROVIDER_BACKOFF_BASE_MS: '1', PROVIDER_BACKOFF_CAP_MS: '1' } })
  // The sandbox fails every call for an amount ending in 62 (a provider outage).
  const payment = await storePayment(deps, { customerId: 'cus_outage', amount: 1062 })
  const worker = workers.queues[config.queues.work.name]
  if (worker === undefined) throw new Error('no work-queue worker')
  const event = sqsEvent(config.queues.work.name, [JSON.stringify({ type: 'charge', paymentId: payment.id })])
  t.same(await worker(event, createLocalContext('paylith-test', 30_000)), { batchItemFailures: [{ itemIdentifier: event.Records[0]?.messageId }] })
  t.equal((deps.provider as SandboxProvider).attemptsFor(payment.id), 2)
  t.equal((await deps.payments.get(payment.id))?.status, 'processing')
})
