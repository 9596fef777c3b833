import t from 'tap'
import { PAYMENT_STATUSES, canTransition, type PaymentStatus } from '../../src/domain/payment-status.js'

// The whole lifecycle, written out by hand: every allowed move; everything else is refused.
const ALLOWED: Record<PaymentStatus, PaymentStatus[]> = {
  pending: ['processing', 'requires_action', 'succeeded', 'failed', 'partially_refunded', 'refunded', 'canceled'],
  processing: ['requires_action', 'succeeded', 'failed', 'partially_refunded', 'refunded'],
  requires_action: ['succeeded', 'failed', 'partially_refunded', 'refunded'],
  succeeded: ['partially_refunded', 'refunded'],
  failed: [],
  partially_refunded: ['refunded'],
  refunded: [],
  canceled: []
}

for (const from of PAYMENT_STATUSES) {
  for (const to of PAYMENT_STATUSES) {
    const expected = ALLOWED[from].includes(to)
    t.test(`${from} → ${to} is ${expected ? 'allowed' : 'refused'}`, async (t) => {
      t.equal(canTransition(from, to), expected)
    })
  }
}

t.test('the states are exactly the seven of the lifecycle, in order', async (t) => {
  t.same(PAYMENT_STATUSES, ['pending', 'processing', 'requires_action', 'succeeded', 'failed', 'partially_refunded', 'refunded', 'canceled'])
})

t.test('the allowed moves are exactly the lifecycle\'s, none more and none fewer', async (t) => {
  const allowed = PAYMENT_STATUSES.flatMap((from) => PAYMENT_STATUSES.filter((to) => canTransition(from, to)).map((to) => `${from} → ${to}`))
  t.same(allowed, [
    'pending → processing',
    'pending → requires_action',
    'pending → succeeded',
    'pending → failed',
    'pending → partially_refunded',
    'pending → refunded',
    'pending → canceled',
    'processing → requires_action',
    'processing → succeeded',
    'processing → failed',
    'processing → partially_refunded',
    'processing → refunded',
    'requires_action → succeeded',
    'requires_action → failed',
    'requires_action → partially_refunded',
    'requires_action → refunded',
    'succeeded → partially_refunded',
    'succeeded → refunded',
    'partially_refunded → refunded'
  ])
})
