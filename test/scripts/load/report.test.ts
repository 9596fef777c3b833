import t from 'tap'
import type { Payment } from '../../../src/domain/payment.js'
import { OUTBOX_SENT_MESSAGE, computeReport, distribution, formatReport, percentile, type LoadRunFacts } from '../../../scripts/load/report.js'
import type { RequestRecord } from '../../../scripts/load/types.js'
import { Route } from '../../../scripts/load/workload.js'

t.test('percentiles are by nearest rank', async (t) => {
  const values = Array.from({ length: 100 }, (_, index) => 100 - index)
  t.equal(percentile(values, 50), 50)
  t.equal(percentile(values, 99), 99)
  t.equal(percentile(values, 100), 100)
  t.equal(percentile([7], 99), 7)
  t.equal(percentile([1, 2], 50), 1)
  t.equal(percentile([], 50), undefined)
})

t.test('a distribution has the count, p50, p99 and max', async (t) => {
  t.same(distribution([3, 1, 2]), { count: 3, p50: 2, p99: 3, max: 3 })
  t.same(distribution([]), { count: 0, p50: undefined, p99: undefined, max: undefined })
})

const T0 = Date.parse('2026-01-01T00:00:00.000Z')
const iso = (ms: number): string => new Date(T0 + ms).toISOString()

function payment (id: string, status: Payment['status'], settledAfterMs: number, extra: Partial<Payment> = {}): Payment {
  return { id, status, amount: 100, currency: 'EUR', customerId: 'cus_1', version: 3, createdAt: iso(0), updatedAt: iso(settledAfterMs), ...extra }
}

const facts: LoadRunFacts = { targetRate: 5, durationMs: 2_000, scheduled: 10, shed: 1, startedAt: T0, endedAt: T0 + 2_000, drainMs: 1_500, drainComplete: false }

const records: RequestRecord[] = [
  { route: Route.create, at: T0, ms: 10, status: 201, paymentId: 'pay_a', idempotencyKey: 'k1', customerId: 'cus_1' },
  { route: Route.create, at: T0 + 200, ms: 30, status: 201, paymentId: 'pay_b', idempotencyKey: 'k2', customerId: 'cus_1' },
  { route: Route.create, at: T0 + 400, ms: 20, status: 201, paymentId: 'pay_c', idempotencyKey: 'k3', customerId: 'cus_1' },
  // Retries of k1: the same payment, then one still in flight.
  { route: Route.create, at: T0 + 600, ms: 5, status: 201, paymentId: 'pay_a', idempotencyKey: 'k1', customerId: 'cus_1' },
  { route: Route.create, at: T0 + 700, ms: 5, status: 409, error: 'idempotency-key-in-flight', idempotencyKey: 'k1', customerId: 'cus_1' },
  { route: Route.read, at: T0 + 800, ms: 4, status: 200, paymentId: 'pay_a' },
  { route: Route.read, at: T0 + 1000, ms: 6, status: 0, error: 'ECONNRESET', paymentId: 'pay_b' },
  { route: Route.list, at: T0 + 1200, ms: 8, status: 200, customerId: 'cus_1' },
  { route: Route.webhook, at: T0 + 1400, ms: 3, status: 200, paymentId: 'pay_c' }
]

const lines = [
  { msg: 'incoming request', time: T0 + 1 },
  { msg: OUTBOX_SENT_MESSAGE, paymentId: 'pay_a', time: T0 + 100 },
  { msg: OUTBOX_SENT_MESSAGE, paymentId: 'pay_b', time: T0 + 300 },
  // Relayed again after a restart: the first line counts.
  { msg: OUTBOX_SENT_MESSAGE, paymentId: 'pay_a', time: T0 + 9_000 }
]

t.test('the report adds up what happened: requests, routes, errors, retries, statuses, outbox lag and settle time', async (t) => {
  const payments = new Map([
    ['pay_a', payment('pay_a', 'succeeded', 1_000)],
    ['pay_b', payment('pay_b', 'processing', 500, { attention: { reason: 'dead-lettered', since: iso(400) } })]
    // pay_c was never read back
  ])
  const report = computeReport(facts, records, lines, payments)
  t.same(report.requests, { total: 9, perSecond: 4.5, targetPerSecond: 5, shed: 1, errors: 2 })
  t.same(Object.keys(report.routes), [Route.read, Route.list, Route.create, Route.webhook].sort())
  t.same(report.routes[Route.create], { count: 5, p50: 10, p99: 30, max: 30, errors: 1 })
  t.same(report.routes[Route.read], { count: 2, p50: 4, p99: 6, max: 6, errors: 1 })
  t.same(report.errors, { '409 idempotency-key-in-flight': 1, 'network ECONNRESET': 1 })
  t.same(report.idempotency, { repeatedCreates: 2, samePayment: 1, otherPayment: 0, noPayment: 1 })
  t.same(report.payments, { created: 3, byStatus: { succeeded: 1, processing: 1 }, visiblyWaiting: 1, unsettled: 0, missing: 1 })
  t.same(report.outboxLagMs, { count: 2, p50: 100, p99: 300, max: 300, notRelayed: 0 })
  t.same(report.settleMs, { count: 1, p50: 1_000, p99: 1_000, max: 1_000 })
  t.same(report.drain, { ms: 1_500, complete: false })
})

t.test('a retry answered with another payment is counted as such', async (t) => {
  const report = computeReport(facts, [
    { route: Route.create, at: T0, ms: 1, status: 201, paymentId: 'pay_a', idempotencyKey: 'k' },
    { route: Route.create, at: T0 + 1, ms: 1, status: 201, paymentId: 'pay_z', idempotencyKey: 'k' }
  ], [], new Map([['pay_a', payment('pay_a', 'pending', 0)], ['pay_z', payment('pay_z', 'pending', 0)]]))
  t.same(report.idempotency, { repeatedCreates: 1, samePayment: 0, otherPayment: 1, noPayment: 0 })
  t.same(report.payments, { created: 2, byStatus: { pending: 2 }, visiblyWaiting: 0, unsettled: 2, missing: 0 })
  t.equal(report.outboxLagMs.notRelayed, 2)
})

t.test('the terminal report shows every route and flags what did not settle', async (t) => {
  const report = computeReport(facts, records, lines, new Map([['pay_a', payment('pay_a', 'pending', 0)]]))
  const text = formatReport(report)
  for (const route of Object.keys(report.routes)) t.match(text, route)
  t.match(text, /9 sent, 4\.5 req\/s held of 5 asked, 1 shed/)
  t.match(text, /409 idempotency-key-in-flight: 1/)
  t.match(text, /1 NOT SETTLED/)
  t.match(text, /2 MISSING from the table/)
  t.match(text, /stopped before every payment settled/)
  t.match(formatReport(computeReport(facts, [], [], new Map())), /errors {5}none/)
})
