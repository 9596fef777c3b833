import { appendFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { HEALTHY_NOT_DEAD_LETTERED, effectsOf, faultKindsInjected, formatChaosReport, healthyDeadLetteredOf, providerSaidSo, type ChaosReport } from '../../../scripts/load/chaos-run.js'
import { computeReport } from '../../../scripts/load/report.js'
import type { Payment } from '../../../src/domain/payment.js'
import type { DeadLetter } from '../../../src/store/dead-letters.js'

const payment = (id: string, amount: number) => ({ id, amount }) as Payment

t.test('the faults\' effects are counted from the app\'s metric documents and log lines', async (t) => {
  const effects = effectsOf([
    { msg: 'paylith listening on http://127.0.0.1:1' },
    { FaultInjected: 1, fault: 'ThrottlingException' },
    { FaultInjected: 1, fault: 'ProvisionedThroughputExceededException' },
    { FaultInjected: 1, fault: 'ThrottlingException' },
    { ChargeDeferred: 1 },
    { ChargeDeferred: 1 },
    { CircuitOpened: 1 },
    { msg: 'charge: nothing to do, the payment is already settled' },
    { msg: 'paylith listening on http://127.0.0.1:1' },
    { msg: 'something else', FaultInjected: 'not a count' }
  ])
  t.same(effects, {
    throttlesInjected: { ThrottlingException: 2, ProvisionedThroughputExceededException: 1 },
    chargesDeferred: 2,
    circuitOpened: 1,
    chargesForSettledPayments: 1,
    appStarts: 2
  })
})

t.test('healthy payments are those ending 00; those with a dead letter are named', async (t) => {
  const payments = [payment('pay_a', 1200), payment('pay_b', 1300), payment('pay_c', 1262), payment('pay_d', 100)]
  const deadLetters = [{ paymentId: 'pay_b' }, { paymentId: 'pay_c' }, { paymentId: undefined }] as DeadLetter[]
  t.same(healthyDeadLetteredOf({ payments, deadLetters }), { count: 1, healthy: 3, paymentIds: ['pay_b'] })
  t.same(healthyDeadLetteredOf({ payments, deadLetters: [] }), { count: 0, healthy: 3, paymentIds: [] })
})

t.test('the load may send a webhook for a decline at once, and for a success only once the ledger shows the charge', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'paylith-chaos-run-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const ledger = join(dir, 'ledger.jsonl')
  let now = 0
  const allowed = providerSaidSo(ledger, () => now)
  t.equal(allowed({ id: 'pay_1', amount: 1251 }), true, 'a decline')
  t.equal(allowed({ id: 'pay_1', amount: 1252 }), true, 'a decline')
  t.equal(allowed({ id: 'pay_2', amount: 1200 }), false, 'no ledger yet')
  appendFileSync(ledger, `${JSON.stringify({ paymentId: 'pay_2', idempotencyKey: 'pay_2', providerRef: 'sbx_pay_2', at: new Date().toISOString() })}\n`)
  now = 100
  t.equal(allowed({ id: 'pay_2', amount: 1200 }), false, 'the ledger is read at most every half second')
  now = 500
  t.equal(allowed({ id: 'pay_2', amount: 1200 }), true, 'charged')
  t.equal(allowed({ id: 'pay_3', amount: 1261 }), false, 'not charged')
})

t.test('the report shows the faults, their effects, the invariants and the load, and which kinds were injected', async (t) => {
  const load = computeReport({ targetRate: 5, durationMs: 1000, scheduled: 5, shed: 0, startedAt: 0, endedAt: 1000, drainMs: 10, drainComplete: true }, [], [], new Map())
  const report: ChaosReport = {
    seed: 42,
    plan: { rate: 5, durationMs: 20_000, outageMs: 6_000, throttleRate: 0.1, latencyMs: 1500, duplicateVisibilitySeconds: 1 },
    faults: [
      { fault: 'kill', detail: 'kill -9, restart', startedMs: 1600, endedMs: 5000, ok: true },
      { fault: 'provider-down', detail: 'for 6000 ms', startedMs: 6400, endedMs: 12_400, ok: true },
      { fault: 'webhook-storm', detail: '', startedMs: 9400, endedMs: 9800, ok: false, error: 'boom' }
    ],
    effects: { throttlesInjected: { ThrottlingException: 3 }, chargesDeferred: 4, circuitOpened: 1, chargesForSettledPayments: 2, appStarts: 2, storm: { targets: 2, deliveries: 6, byStatus: { 200: 5, 0: 1 } } },
    healthyDeadLettered: { count: 0, healthy: 10, paymentIds: [] },
    invariants: [{ name: 'no message lost', held: true, detail: 'all there' }, { name: HEALTHY_NOT_DEAD_LETTERED, held: false, detail: '1 of 10' }],
    invariantsHeld: 1,
    table: { payments: 12, drainComplete: false, queuesEmpty: false, checkedAfterMs: 2500 },
    load
  }
  const text = formatChaosReport(report)
  t.match(text, /seed 42/)
  t.match(text, /provider-down +for 6000 ms +6\.4 s +12\.4 s +ok/)
  t.match(text, /webhook-storm .* failed: boom/)
  t.match(text, /ThrottlingException ×3 \(injected below the SDK's retries/)
  t.match(text, /opened 1 times; 4 charges deferred/)
  t.match(text, /6 deliveries for 2 payments: no answer ×1, 200 ×5/)
  t.match(text, /healthy payments dead-lettered: 0 of 10 \(provider outage 6 s\)/)
  t.match(text, /12 payments, NOT all settled when the drain stopped; queues NOT empty; invariants checked 2.5 s later/)
  t.match(text, /no healthy payment dead-lettered +FAILED +1 of 10/)
  t.match(text, /invariants held: 1\/2/)
  t.match(text, /requests +0 sent/, 'and the load report')
  t.same(faultKindsInjected(report), ['kill', 'provider-down'], 'only the kinds injected without a failure')
  const quiet = formatChaosReport({ ...report, effects: { ...report.effects, throttlesInjected: {}, storm: { targets: 0, deliveries: 0, byStatus: {} } }, table: { payments: 1, drainComplete: true, queuesEmpty: true, checkedAfterMs: 0 } })
  t.match(quiet, /throttles +none/)
  t.match(quiet, /storm +0 deliveries for 0 payments\n/)
  t.match(quiet, /every one settled or visibly waiting; queues empty/)
})
