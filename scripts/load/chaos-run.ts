import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb'
import { GetQueueAttributesCommand, GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs'
import { clientOptions } from '../../src/aws/clients.js'
import { loadConfig } from '../../src/config/load.js'
import type { Payment } from '../../src/domain/payment.js'
import { SANDBOX_OUTCOMES } from '../../src/providers/sandbox.js'
import { readSandboxLedger } from '../../src/providers/sandbox-ledger.js'
import { ItemKind, fromItem } from '../../src/store/table.js'
import { startAppProcess } from './app-process.js'
import { seededRandom, type ChaosOptions } from './chaos-options.js'
import { ChaosFault, chaosSchedule } from './chaos-schedule.js'
import { formatInjectedFaults, runFaultSchedule, type InjectedFault } from './faults.js'
import { evaluateInvariants, formatInvariants, takeSnapshot, type InvariantResult, type Snapshot } from './invariants.js'
import { formatReport, type LoadReport } from './report.js'
import { runLoad } from './run-load.js'
import { drain, paymentReader } from './settle.js'
import type { AppProcess, RequestRecord } from './types.js'
import { webhookStorm, type StormTarget } from './webhook-storm.js'
import type { CreatedPayment, WorkloadProgress } from './workload.js'

/** The invariant the chaos run adds to the eight: the issue's target for a provider outage. */
export const HEALTHY_NOT_DEAD_LETTERED = 'no healthy payment dead-lettered'

/** What the faults did, as the app's log lines and metric documents count it. */
export interface FaultEffects {
  /** Throttling errors injected below the SDK's retries, by error name (metric FaultInjected). */
  throttlesInjected: Record<string, number>
  /** Charges deferred while the breaker was open (metric ChargeDeferred). */
  chargesDeferred: number
  /** Times the provider breaker opened (metric CircuitOpened). */
  circuitOpened: number
  /** Charge commands received for a payment already settled: redeliveries (short visibility, restart) and charges a webhook beat. */
  chargesForSettledPayments: number
  /** How many times the app was started (1 + the restarts after kill -9). */
  appStarts: number
  storm: { targets: number, deliveries: number, byStatus: Record<string, number> }
}

/** Everything `npm run chaos` reports (and writes with --json). */
export interface ChaosReport {
  seed: number
  plan: { rate: number, durationMs: number, outageMs: number, throttleRate: number, latencyMs: number, duplicateVisibilitySeconds: number }
  faults: InjectedFault[]
  effects: FaultEffects
  /** Healthy payments (amounts ending 00) with a dead letter: the issue's outage target is 0. */
  healthyDeadLettered: { count: number, healthy: number, paymentIds: string[] }
  invariants: InvariantResult[]
  invariantsHeld: number
  /**
   * Every payment in the table (a create that got no answer included), whether all settled and
   * the queues emptied, and how long after that the invariants were checked for the last time.
   */
  table: { payments: number, drainComplete: boolean, queuesEmpty: boolean, checkedAfterMs: number }
  load: LoadReport
}

/** What a chaos run is given. */
export interface RunChaosOptions {
  options: ChaosOptions
  /** The emulators' environment (startLoadEmulators). */
  emulatorEnv: Readonly<Record<string, string>>
  signal?: AbortSignal
  say?: (text: string) => void
  onProgress?: (progress: WorkloadProgress) => void
}

/**
 * A chaos run: the app as `npm run load` starts it, with its sandbox ledger and faults file in
 * the run's own temporary folder; the load while the fault schedule runs; the drain (of every
 * payment in the table, once the faults have ended, and of the queues); then the snapshot and
 * the invariants.
 */
export async function runChaos ({ options, emulatorEnv, signal, say = () => {}, onProgress }: RunChaosOptions): Promise<ChaosReport> {
  const dir = mkdtempSync(join(tmpdir(), 'paylith-chaos-'))
  const faultsFile = join(dir, 'faults.json')
  const ledgerFile = join(dir, 'sandbox-ledger.jsonl')
  let app: AppProcess | undefined
  try {
    app = await startAppProcess({ emulatorEnv, env: { LOCAL_FAULTS_FILE: faultsFile, SANDBOX_LEDGER_FILE: ledgerFile } })
    const running = app
    const random = seededRandom(options.seed)
    const plan = { rate: options.load.rate, durationMs: options.load.durationMs, outageMs: options.outageMs, throttleRate: options.throttleRate, latencyMs: options.latencyMs, duplicateVisibilitySeconds: options.duplicateVisibilitySeconds }
    say(`chaos: ${running.url} is ready; ${plan.rate} req/s for ${plan.durationMs / 1000} s, a ${plan.outageMs / 1000} s provider outage, seed ${options.seed}; faults in ${faultsFile}, the sandbox's ledger in ${ledgerFile}`)

    let stormRecords: RequestRecord[] = []
    let stormTargets = 0
    const storm = async (): Promise<void> => {
      // Early in a short run nothing may be settled yet: wait (a little) for something to storm about.
      let targets = await stormTargetsOf(running.env, ledgerFile, random)
      for (let waited = 0; targets.length === 0 && waited < 15_000 && signal?.aborted !== true; waited += 500) {
        await sleep(500)
        targets = await stormTargetsOf(running.env, ledgerFile, random)
      }
      stormTargets = targets.length
      say(`chaos: webhook storm: ${targets.length} payments, each event 3 times, half of them with an out-of-order conflicting event`)
      stormRecords = await webhookStorm({ url: running.url, env: running.env, targets, random })
    }
    const schedule = runFaultSchedule({ schedule: chaosSchedule({ ...plan, storm }), faultsFile, app: running, signal })
      .then((injected) => { for (const row of injected) say(`chaos: ${row.fault} ${row.detail}: ${(row.startedMs / 1000).toFixed(1)}–${(row.endedMs / 1000).toFixed(1)} s ${row.ok ? 'ok' : `FAILED ${row.error ?? ''}`}`); return injected })
    const { report, records } = await runLoad({
      app: running,
      options: options.load,
      signal,
      random,
      webhookAllowed: providerSaidSo(ledgerFile),
      onProgress,
      beforeDrain: async () => { await schedule; say('chaos: faults over; draining') },
      onDrain: (unsettled, elapsedMs) => { say(`  drain ${(elapsedMs / 1000).toFixed(1).padStart(5)}s  ${unsettled} payments not settled yet`) }
    })
    const faults = await schedule

    // Every payment in the table, not only those the load was answered with (a create cut off
    // by the kill), then the queues, within what is left of the drain's time.
    const deadline = Date.now() + Math.max(30_000, options.load.drainMs - report.drain.ms)
    const ids = (await scanPayments(running.env)).map((payment) => payment.id)
    const reader = paymentReader(running.env)
    const drained = await drain(reader, ids, { timeoutMs: Math.max(0, deadline - Date.now()), signal }).finally(() => { reader.close() })
    const queuesEmpty = await waitForEmptyQueues(running.env, deadline, signal)

    // Some invariants hold only once everything is done (the customer summaries follow the
    // stream, which may still be working off its backlog): check again until every one holds or
    // the drain's time is up. Waiting cannot mend a broken one of the others (a second charge,
    // a key with two payments, a history that went backwards): they only get worse.
    const all = [...records, ...stormRecords]
    const checking = Date.now()
    let snapshot: Snapshot
    let invariants: InvariantResult[]
    for (;;) {
      snapshot = await takeSnapshot({ env: running.env, ledgerFile })
      invariants = chaosInvariants(snapshot, all, plan.outageMs)
      const failing = invariants.filter((invariant) => !invariant.held)
      if (failing.length === 0 || Date.now() + CHECK_INTERVAL_MS > deadline || signal?.aborted === true) break
      say(`chaos: not yet: ${failing.map((invariant) => invariant.name).join('; ')}`)
      await sleep(CHECK_INTERVAL_MS, undefined, { signal }).catch(() => {})
    }
    const healthyDeadLettered = healthyDeadLetteredOf(snapshot)
    return {
      seed: options.seed,
      plan,
      faults,
      effects: { ...effectsOf(running.lines()), storm: { targets: stormTargets, deliveries: stormRecords.length, byStatus: countBy(stormRecords.map((record) => String(record.status))) } },
      healthyDeadLettered,
      invariants,
      invariantsHeld: invariants.filter((invariant) => invariant.held).length,
      table: { payments: ids.length, drainComplete: drained.complete, queuesEmpty, checkedAfterMs: Date.now() - checking },
      load: report
    }
  } finally {
    // `--app-log`: every run of the app, its kill -9 included, to read after the fact.
    if (app !== undefined && options.load.appLogPath !== undefined) writeFileSync(options.load.appLogPath, app.lines().map((line) => `${JSON.stringify(line)}\n`).join(''))
    await app?.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * Which payments a webhook may be sent for: what the provider has really done. The load's
 * webhooks tell the sandbox's outcome for an amount, possibly before our own charge; during an
 * outage that would be a success the provider never charged (the ledger invariant catches it,
 * as it should: it is a forged event). So a success only for a payment the ledger charged
 * (read again at most every half second), a decline for a decline amount.
 */
export function providerSaidSo (ledgerFile: string, now: () => number = Date.now): (payment: Pick<CreatedPayment, 'id' | 'amount'>) => boolean {
  let charged = new Set<string>()
  let readAt = -Infinity
  return (payment) => {
    if (DECLINE_ENDINGS.includes(payment.amount % 100)) return true
    if (now() - readAt >= 500) {
      charged = new Set(readSandboxLedger(ledgerFile).entries.map((entry) => entry.paymentId))
      readAt = now()
    }
    return charged.has(payment.id)
  }
}

/** The sandbox's decline amounts' endings (SANDBOX_OUTCOMES). */
const DECLINE_ENDINGS: readonly number[] = Object.entries(SANDBOX_OUTCOMES).filter(([, outcome]) => outcome.kind === 'decline').map(([ending]) => Number(ending))

/** How often the invariants are checked again while one of them does not hold yet. */
const CHECK_INTERVAL_MS = 3_000

/** The eight invariants, and no healthy payment dead-lettered (the issue's target for an outage). */
export function chaosInvariants (snapshot: Snapshot, records: readonly RequestRecord[], outageMs: number): InvariantResult[] {
  const healthyDeadLettered = healthyDeadLetteredOf(snapshot)
  return [
    ...evaluateInvariants(snapshot, records),
    {
      name: HEALTHY_NOT_DEAD_LETTERED,
      held: healthyDeadLettered.count === 0,
      detail: `${healthyDeadLettered.count} of ${healthyDeadLettered.healthy} healthy payments (amounts ending 00) have a dead letter${healthyDeadLettered.count > 0 ? ` (${healthyDeadLettered.paymentIds.slice(0, 5).join(', ')})` : ''}; outage ${outageMs / 1000} s`
    }
  ]
}

/** Healthy payments (amounts ending 00, which the sandbox charges at once) with a dead letter. */
export function healthyDeadLetteredOf ({ payments, deadLetters }: Pick<Snapshot, 'payments' | 'deadLetters'>): ChaosReport['healthyDeadLettered'] {
  const healthy = payments.filter((payment) => payment.amount % 100 === 0)
  const lettered = new Set(deadLetters.map((letter) => letter.paymentId))
  const paymentIds = healthy.filter((payment) => lettered.has(payment.id)).map((payment) => payment.id)
  return { count: paymentIds.length, healthy: healthy.length, paymentIds }
}

/** What the app's metric documents and log lines say the faults did. */
export function effectsOf (lines: ReadonlyArray<Record<string, unknown>>): Omit<FaultEffects, 'storm'> {
  const throttlesInjected: Record<string, number> = {}
  let chargesDeferred = 0
  let circuitOpened = 0
  let chargesForSettledPayments = 0
  let appStarts = 0
  for (const line of lines) {
    if (typeof line.FaultInjected === 'number' && typeof line.fault === 'string') throttlesInjected[line.fault] = (throttlesInjected[line.fault] ?? 0) + line.FaultInjected
    if (typeof line.ChargeDeferred === 'number') chargesDeferred += line.ChargeDeferred
    if (typeof line.CircuitOpened === 'number') circuitOpened += line.CircuitOpened
    if (line.msg === 'charge: nothing to do, the payment is already settled') chargesForSettledPayments++
    if (typeof line.msg === 'string' && line.msg.startsWith('paylith listening on ')) appStarts++
  }
  return { throttlesInjected, chargesDeferred, circuitOpened, chargesForSettledPayments, appStarts }
}

/**
 * The storm's targets: payments the sandbox really charged (its ledger) and payments it declined
 * (failed, with a decline amount), at most 60 and 20, with their customers, chosen at random.
 */
async function stormTargetsOf (env: Readonly<Record<string, string>>, ledgerFile: string, random: () => number): Promise<StormTarget[]> {
  const payments = await scanPayments(env)
  const byId = new Map(payments.map((payment) => [payment.id, payment]))
  const charged = [...new Set(readSandboxLedger(ledgerFile).entries.map((entry) => entry.paymentId))]
  const declined = payments.filter((payment) => payment.status === 'failed' && DECLINE_ENDINGS.includes(payment.amount % 100)).map((payment) => payment.id)
  const pick = (ids: string[], count: number): string[] => ids.map((id) => ({ id, order: random() })).sort((a, b) => a.order - b.order).slice(0, count).map(({ id }) => id)
  const target = (paymentId: string, outcome: StormTarget['outcome']): StormTarget => {
    const customerId = byId.get(paymentId)?.customerId
    return { paymentId, outcome, ...(customerId !== undefined && { customerId }) }
  }
  return [...pick(charged, 60).map((id) => target(id, 'succeeded')), ...pick(declined, 20).map((id) => target(id, 'failed'))]
}

/** Every payment in the run's table, read straight from it. */
async function scanPayments (env: Readonly<Record<string, string>>): Promise<Payment[]> {
  const client = dynamodbOf(env)
  const payments: Payment[] = []
  try {
    let startKey: Record<string, AttributeValue> | undefined
    do {
      const page = await client.send(new ScanCommand({ TableName: env.TABLE_NAME ?? 'paylith', ConsistentRead: true, FilterExpression: 'sk = :payment', ExpressionAttributeValues: { ':payment': { S: ItemKind.payment } }, ExclusiveStartKey: startKey }))
      payments.push(...(page.Items ?? []).map((item) => fromItem<Payment>(item)))
      startKey = page.LastEvaluatedKey
    } while (startKey !== undefined)
  } finally {
    client.destroy()
  }
  return payments
}

function dynamodbOf (env: Readonly<Record<string, string>>): DynamoDBClient {
  const endpoint = env.AWS_ENDPOINT_URL_DYNAMODB ?? env.AWS_ENDPOINT_URL
  return new DynamoDBClient({
    region: env.AWS_REGION ?? 'us-east-1',
    ...(endpoint !== undefined && { endpoint }),
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID ?? 'test', secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? 'test' }
  })
}

/**
 * Waits (bounded) until the work queue and the dead-letter queue hold nothing: messages still
 * delayed (charges deferred by the open breaker) or in hand are not lost, only not done yet.
 */
async function waitForEmptyQueues (env: Readonly<Record<string, string>>, deadline: number, signal: AbortSignal | undefined): Promise<boolean> {
  const config = loadConfig({ ...env })
  const sqs = new SQSClient({ ...clientOptions(config, 'sqs'), credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID ?? 'test', secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? 'test' } })
  const left = async (name: string): Promise<number> => {
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: name }))
    const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] }))
    return Number(Attributes.ApproximateNumberOfMessages ?? 0) + Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0) + Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0)
  }
  try {
    for (;;) {
      const counts = await Promise.all([left(config.queues.work.name), left(config.queues.deadLetter.name)]).catch(() => [-1])
      if (counts.every((count) => count === 0)) return true
      if (Date.now() + 1000 > deadline || signal?.aborted === true) return false
      await sleep(1000, undefined, { signal }).catch(() => {})
    }
  } finally {
    sqs.destroy()
  }
}

function countBy (values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1
  return counts
}

/** The fault kinds a report's rows show as injected (ok). */
export function faultKindsInjected (report: Pick<ChaosReport, 'faults'>): string[] {
  return [...new Set(report.faults.filter((row) => row.ok).map((row) => row.fault))].filter((kind) => (Object.values(ChaosFault) as string[]).includes(kind)).sort()
}

/** The report as the terminal shows it: faults injected, what they did, the invariants, the load. */
export function formatChaosReport (report: ChaosReport): string {
  const { effects, plan } = report
  const throttles = Object.entries(effects.throttlesInjected)
  const storm = Object.entries(effects.storm.byStatus).map(([status, count]) => `${status === '0' ? 'no answer' : status} ×${count}`).join(', ')
  return [
    '',
    `chaos run: ${plan.rate} req/s for ${plan.durationMs / 1000} s, provider outage ${plan.outageMs / 1000} s, seed ${report.seed}`,
    '',
    'faults injected',
    formatInjectedFaults(report.faults),
    '',
    `throttles  ${throttles.length === 0 ? 'none' : throttles.map(([name, count]) => `${name} ×${count}`).join(', ')} (injected below the SDK's retries, labelled "injected by LOCAL_FAULTS_FILE", metric FaultInjected)`,
    `breaker    opened ${effects.circuitOpened} times; ${effects.chargesDeferred} charges deferred while open (no receive spent)`,
    `redelivery ${effects.chargesForSettledPayments} charge commands arrived for a payment already settled (duplicates, restart, webhooks first)`,
    `restarts   the app started ${effects.appStarts} times`,
    `storm      ${effects.storm.deliveries} deliveries for ${effects.storm.targets} payments${storm === '' ? '' : `: ${storm}`}`,
    `healthy payments dead-lettered: ${report.healthyDeadLettered.count} of ${report.healthyDeadLettered.healthy} (provider outage ${plan.outageMs / 1000} s)`,
    `table      ${report.table.payments} payments${report.table.drainComplete ? ', every one settled or visibly waiting' : ', NOT all settled when the drain stopped'}; queues ${report.table.queuesEmpty ? 'empty' : 'NOT empty'}; invariants checked ${(report.table.checkedAfterMs / 1000).toFixed(1)} s later`,
    '',
    formatInvariants(report.invariants),
    formatReport(report.load)
  ].join('\n')
}
