import type { Deps } from '../src/deps.js'
import { randomUUID } from 'node:crypto'
import { newIdempotencyRecord } from '../src/domain/idempotency.js'
import type { Payment } from '../src/domain/payment.js'
import { newPayment } from '../src/store/payments.js'

/** One succeeded payment with a provider reference, stored as POST /v1/payments and the charge would. */
export async function storePaymentForBench (deps: Pick<Deps, 'ids' | 'clock' | 'payments'>, index: number): Promise<Payment> {
  const payment = newPayment(deps.ids(), { amount: 1000 + index, currency: 'EUR', customerId: `cus_bench_${index % 50}` }, deps.clock())
  const record = newIdempotencyRecord({ scope: 'bench', key: randomUUID(), fingerprint: 'f' }, { resourceId: payment.id, statusCode: 201, body: '{}' }, deps.clock(), 86_400)
  await deps.payments.createIdempotently(payment, record)
  return deps.payments.transition(payment, 'succeeded', { providerRef: `pi_bench_${index}` })
}
