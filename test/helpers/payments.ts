import { randomUUID } from 'node:crypto'
import { newIdempotencyRecord } from '../../src/domain/idempotency.js'
import type { NewPayment, Payment } from '../../src/domain/payment.js'
import type { Deps } from '../../src/deps.js'
import { newPayment } from '../../src/store/payments.js'

/**
 * Stores a new pending payment the way the create route does (payment, first event and
 * idempotency record in one transaction), created at `createdAt` (the deps' clock by default).
 */
export async function storePayment (deps: Pick<Deps, 'ids' | 'clock' | 'payments'>, options: { customerId?: string, amount?: number, createdAt?: Date, input?: Partial<NewPayment> } = {}): Promise<Payment> {
  const payment = newPayment(deps.ids(), { amount: options.amount ?? 100, currency: 'EUR', customerId: options.customerId ?? 'cus_test', ...options.input }, options.createdAt ?? deps.clock())
  const record = newIdempotencyRecord({ scope: 'test', key: randomUUID(), fingerprint: 'f' }, { resourceId: payment.id, statusCode: 201, body: '{}' }, deps.clock(), 86_400)
  await deps.payments.createIdempotently(payment, record)
  return payment
}

/** Stores a payment and moves it to succeeded, as a charge would: what a refund starts from. */
export async function storeSucceededPayment (deps: Pick<Deps, 'ids' | 'clock' | 'payments'>, options: { customerId?: string, amount?: number, currency?: string } = {}): Promise<Payment> {
  const payment = await storePayment(deps, { ...options, input: options.currency === undefined ? {} : { currency: options.currency } })
  return deps.payments.transition(payment, 'succeeded', { providerRef: `sbx_${payment.id}` })
}
