import t from 'tap'
import { PAYMENT_STATUSES, canTransition, type PaymentStatus } from '../../src/domain/payment-status.js'

// The whole lifecycle, written out by hand: every allowed move; everything else is refused.
const ALLOWED: Record<PaymentStatus, PaymentStatus[]> = {
  pending: ['processing', 'succeeded', 'failed', 'refunded'],
  processing: ['succeeded', 'failed', 'refunded'],
  succeeded: ['refunded'],
  failed: [],
  refunded: []
}

for (const from of PAYMENT_STATUSES) {
  for (const to of PAYMENT_STATUSES) {
    const expected = ALLOWED[from].includes(to)
    t.test(`${from} → ${to} is ${expected ? 'allowed' : 'refused'}`, async (t) => {
      t.equal(canTransition(from, to), expected)
    })
  }
}

t.test('every pair of states was checked', async (t) => {
  t.equal(PAYMENT_STATUSES.length ** 2, 25)
})
