import type { Payment } from '../../src/domain/payment.js'
import type { RequestRecord } from './types.js'
import { isFinalStatus } from './settle.js'
import { Route } from './workload.js'

/** The log line the outbox relay writes when it has sent a payment's charge command. */
export const OUTBOX_SENT_MESSAGE = 'outbox: charge command sent'

/** The p-th percentile (0 < p ≤ 100) of some values by nearest rank; undefined for none. */
export function percentile (values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)))
  return sorted[rank - 1]
}

/** How a set of durations spread, ms. */
export interface Distribution {
  count: number
  p50: number | undefined
  p99: number | undefined
  max: number | undefined
}

/** The count, p50, p99 and maximum of some durations. */
export function distribution (values: readonly number[]): Distribution {
  return { count: values.length, p50: percentile(values, 50), p99: percentile(values, 99), max: values.length === 0 ? undefined : Math.max(...values) }
}

/** One route's figures. */
export interface RouteFigures extends Distribution {
  errors: number
}

/** What the load was asked for and what ran. */
export interface LoadRunFacts {
  /** The requests per second asked for. */
  targetRate: number
  durationMs: number
  /** Starts the schedule made and shed (the client's in-flight bound). */
  scheduled: number
  shed: number
  /** When the schedule started and ended, epoch ms. */
  startedAt: number
  endedAt: number
  /** How long the drain waited and whether everything settled in time. */
  drainMs: number
  drainComplete: boolean
}

/** The report `npm run load` prints (and writes as JSON with --json). */
export interface LoadReport {
  requests: {
    total: number
    /** Requests started per second over the schedule's length. */
    perSecond: number
    targetPerSecond: number
    shed: number
    /** Requests with no answer, or an error status. */
    errors: number
  }
  /** Per route template: latency and errors. */
  routes: Record<string, RouteFigures>
  /** Errors by `<status> <problem type>`, or `network <code>` when there was no answer. */
  errors: Record<string, number>
  /** Creates whose key had been sent before, and whether they got the first payment back. */
  idempotency: { repeatedCreates: number, samePayment: number, otherPayment: number, noPayment: number }
  payments: {
    created: number
    /** How many payments ended in each status (as read back from the table after the drain). */
    byStatus: Record<string, number>
    /** Not final, but marked as needing a person (attention). */
    visiblyWaiting: number
    /** Neither final nor visibly waiting when the drain stopped. */
    unsettled: number
    /** Created, but not found in the table. */
    missing: number
  }
  /** Create (the payment's createdAt) → the outbox's `charge command sent` line, ms. */
  outboxLagMs: Distribution & { notRelayed: number }
  /** Create → final status (updatedAt − createdAt of final payments), ms. */
  settleMs: Distribution
  drain: { ms: number, complete: boolean }
}

/**
 * The report from what happened: the requests, the app's log lines and the payments as read
 * back after the drain.
 */
export function computeReport (facts: LoadRunFacts, records: readonly RequestRecord[], lines: ReadonlyArray<Record<string, unknown>>, payments: ReadonlyMap<string, Payment>): LoadReport {
  const routes: Record<string, RouteFigures> = {}
  const byRoute = new Map<string, RequestRecord[]>()
  for (const record of records) byRoute.set(record.route, [...(byRoute.get(record.route) ?? []), record])
  for (const [route, list] of [...byRoute].sort(([a], [b]) => a.localeCompare(b))) {
    routes[route] = { ...distribution(list.map((record) => record.ms)), errors: list.filter((record) => record.error !== undefined).length }
  }

  const errors: Record<string, number> = {}
  for (const record of records.filter((r) => r.error !== undefined)) {
    const type = record.status === 0 ? `network ${record.error}` : `${record.status} ${record.error}`
    errors[type] = (errors[type] ?? 0) + 1
  }

  const createdIds = new Set<string>()
  const firstPaymentOfKey = new Map<string, string>()
  const idempotency = { repeatedCreates: 0, samePayment: 0, otherPayment: 0, noPayment: 0 }
  const seenKeys = new Set<string>()
  for (const record of records.filter((r) => r.route === Route.create && r.idempotencyKey !== undefined)) {
    const key = record.idempotencyKey!
    const repeated = seenKeys.has(key)
    seenKeys.add(key)
    if (record.paymentId !== undefined) createdIds.add(record.paymentId)
    const first = firstPaymentOfKey.get(key)
    if (first === undefined && record.paymentId !== undefined) firstPaymentOfKey.set(key, record.paymentId)
    if (!repeated) continue
    idempotency.repeatedCreates++
    if (record.paymentId === undefined) idempotency.noPayment++
    else if (first === undefined || first === record.paymentId) idempotency.samePayment++
    else idempotency.otherPayment++
  }

  const relayedAt = new Map<string, number>()
  for (const line of lines) {
    if (line.msg !== OUTBOX_SENT_MESSAGE || typeof line.paymentId !== 'string' || typeof line.time !== 'number') continue
    if (!relayedAt.has(line.paymentId)) relayedAt.set(line.paymentId, line.time)
  }

  const byStatus: Record<string, number> = {}
  const lags: number[] = []
  const settles: number[] = []
  let visiblyWaiting = 0
  let unsettled = 0
  let missing = 0
  let notRelayed = 0
  for (const id of createdIds) {
    const payment = payments.get(id)
    if (payment === undefined) {
      missing++
      continue
    }
    byStatus[payment.status] = (byStatus[payment.status] ?? 0) + 1
    const createdAt = Date.parse(payment.createdAt)
    const relayed = relayedAt.get(id)
    if (relayed === undefined) notRelayed++
    else lags.push(relayed - createdAt)
    if (isFinalStatus(payment.status)) settles.push(Date.parse(payment.updatedAt) - createdAt)
    else if (payment.attention !== undefined) visiblyWaiting++
    else unsettled++
  }

  const seconds = Math.max(1, facts.endedAt - facts.startedAt) / 1000
  return {
    requests: {
      total: records.length,
      perSecond: round(records.length / seconds),
      targetPerSecond: facts.targetRate,
      shed: facts.shed,
      errors: records.filter((record) => record.error !== undefined).length
    },
    routes,
    errors,
    idempotency,
    payments: { created: createdIds.size, byStatus, visiblyWaiting, unsettled, missing },
    outboxLagMs: { ...distribution(lags), notRelayed },
    settleMs: distribution(settles),
    drain: { ms: facts.drainMs, complete: facts.drainComplete }
  }
}

function round (value: number): number {
  return Math.round(value * 10) / 10
}

function ms (value: number | undefined): string {
  if (value === undefined) return '-'
  return value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`
}

/** The report as the terminal shows it. */
export function formatReport (report: LoadReport): string {
  const { requests, payments, outboxLagMs, settleMs, idempotency } = report
  const out = [
    '',
    `requests   ${requests.total} sent, ${requests.perSecond} req/s held of ${requests.targetPerSecond} asked${requests.shed > 0 ? `, ${requests.shed} shed (in-flight bound)` : ''}, ${requests.errors} errors`,
    '',
    'route                          count      p50      p99      max  errors'
  ]
  for (const [route, figures] of Object.entries(report.routes)) {
    out.push(`${route.padEnd(28)} ${String(figures.count).padStart(7)} ${ms(figures.p50).padStart(8)} ${ms(figures.p99).padStart(8)} ${ms(figures.max).padStart(8)} ${String(figures.errors).padStart(7)}`)
  }
  const errors = Object.entries(report.errors).sort(([, a], [, b]) => b - a)
  out.push('', errors.length === 0 ? 'errors     none' : `errors     ${errors.map(([type, count]) => `${type}: ${count}`).join(', ')}`)
  out.push(`retries    ${idempotency.repeatedCreates} creates repeated an earlier key: ${idempotency.samePayment} got the same payment, ${idempotency.otherPayment} another, ${idempotency.noPayment} none (an error answer)`)
  out.push('')
  const statuses = Object.entries(payments.byStatus).map(([status, count]) => `${status} ${count}`).join(', ')
  out.push(`payments   ${payments.created} created: ${statuses === '' ? 'none read back' : statuses}${payments.visiblyWaiting > 0 ? `; ${payments.visiblyWaiting} visibly waiting (attention)` : ''}${payments.unsettled > 0 ? `; ${payments.unsettled} NOT SETTLED` : ''}${payments.missing > 0 ? `; ${payments.missing} MISSING from the table` : ''}`)
  out.push(`outbox lag p50 ${ms(outboxLagMs.p50)}, p99 ${ms(outboxLagMs.p99)}, max ${ms(outboxLagMs.max)} (${outboxLagMs.count} relayed${outboxLagMs.notRelayed > 0 ? `, ${outboxLagMs.notRelayed} not relayed` : ''})`)
  out.push(`settle     p50 ${ms(settleMs.p50)}, p99 ${ms(settleMs.p99)}, max ${ms(settleMs.max)} (${settleMs.count} final)`)
  out.push(`drain      ${ms(report.drain.ms)}${report.drain.complete ? '' : ', stopped before every payment settled'}`)
  return out.join('\n') + '\n'
}
