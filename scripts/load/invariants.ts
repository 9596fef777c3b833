import { DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb'
import { GetQueueAttributesCommand, GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs'
import { clientOptions } from '../../src/aws/clients.js'
import type { AwsClients } from '../../src/local/clients.js'
import { loadConfig, type Config } from '../../src/config/load.js'
import type { IdempotencyRecord } from '../../src/domain/idempotency.js'
import type { Payment, PaymentEvent } from '../../src/domain/payment.js'
import { canTransition, type PaymentStatus } from '../../src/domain/payment-status.js'
import { FASTIFY_PROBLEMS, PROBLEMS } from '../../src/http/problems.js'
import { readSandboxLedger, type SandboxLedgerEntry } from '../../src/providers/sandbox-ledger.js'
import type { DeadLetter } from '../../src/store/dead-letters.js'
import { createSummaryStore, type CustomerSummary, type SummaryBucket } from '../../src/store/summaries.js'
import { toIdempotencyRecord } from '../../src/store/idempotency.js'
import { ItemKind, fromItem, isPaymentEventSortKey, isPaymentKey, itemKindOf } from '../../src/store/table.js'
import type { RequestRecord } from './types.js'

/** One invariant, checked: its name, whether it held, and what was seen. */
export interface InvariantResult {
  name: string
  held: boolean
  detail: string
}

/** How many messages a queue holds, by state. */
export interface QueueDepth {
  visible: number
  inFlight: number
  delayed: number
}

/** Everything the invariants are checked against, read once the load has drained. */
export interface Snapshot {
  payments: Payment[]
  events: PaymentEvent[]
  idempotency: IdempotencyRecord[]
  deadLetters: DeadLetter[]
  /** Each customer's summary as the projection holds it (undefined: none). */
  summaries: Map<string, CustomerSummary | undefined>
  queues: { work: QueueDepth, deadLetter: QueueDepth }
  /** The sandbox's real charges. */
  ledger: SandboxLedgerEntry[]
}

/** The names of the invariants, in the order they are reported. */
export const Invariant = {
  settledOrVisible: 'every payment is final or visibly waiting',
  oneCharge: 'at most one provider charge per payment',
  ledgerAgrees: 'the provider ledger and the payments agree',
  oneKeyOnePayment: 'every Idempotency-Key names one payment',
  summaries: 'customer summaries equal a recomputation',
  no5xx: 'no 5xx but documented 503s',
  noMessageLost: 'no message lost',
  historyForward: 'status history only moves forward'
} as const

const FINAL: ReadonlySet<PaymentStatus> = new Set(['succeeded', 'failed', 'refunded', 'canceled'])
const CHARGED: ReadonlySet<PaymentStatus> = new Set(['succeeded', 'refunded'])
/** Problem types a client may be answered with a 503 (README: Problem types). */
export const DOCUMENTED_503 = new Set([...Object.values(PROBLEMS), ...Object.values(FASTIFY_PROBLEMS)].filter((kind) => kind.status === 503).map((kind) => kind.slug))
/** At most this many examples are named in a detail. */
const EXAMPLES = 5

/**
 * Reads what the invariants need from a paylith run's resources, named by its environment
 * (table, queues, endpoints, as `AppProcess.env`), and the sandbox's ledger file: the whole
 * table (so a payment whose create got no answer is checked too), both queues' depths, each
 * customer's summary.
 */
export async function takeSnapshot ({ env, ledgerFile, clients }: {
  env: Readonly<Record<string, string>>
  ledgerFile: string
  /** Clients to read with; built from `env` if not given. */
  clients?: AwsClients
}): Promise<Snapshot> {
  const config = loadConfig({ ...env })
  const { dynamodb, sqs } = clients ?? clientsFor(config, env)
  const snapshot: Snapshot = { payments: [], events: [], idempotency: [], deadLetters: [], summaries: new Map(), queues: { work: empty(), deadLetter: empty() }, ledger: readSandboxLedger(ledgerFile).entries }
  let startKey: Record<string, AttributeValue> | undefined
  do {
    const page = await dynamodb.send(new ScanCommand({ TableName: config.tableName, ConsistentRead: true, ExclusiveStartKey: startKey }))
    for (const item of page.Items ?? []) {
      const key = { pk: item.pk?.S, sk: item.sk?.S }
      const kind = itemKindOf(key.pk ?? '')
      if (isPaymentKey(key)) snapshot.payments.push(fromItem<Payment>(item))
      else if (kind === ItemKind.payment && isPaymentEventSortKey(key.sk)) snapshot.events.push(fromItem<PaymentEvent>(item))
      else if (kind === ItemKind.idempotency) snapshot.idempotency.push(toIdempotencyRecord(item))
      else if (kind === ItemKind.deadLetter) snapshot.deadLetters.push(fromItem<DeadLetter>(item))
    }
    startKey = page.LastEvaluatedKey
  } while (startKey !== undefined)

  const summaries = createSummaryStore({ dynamodb, tableName: config.tableName })
  for (const customerId of new Set(snapshot.payments.map((payment) => payment.customerId))) {
    snapshot.summaries.set(customerId, await summaries.get(customerId))
  }
  snapshot.queues.work = await depthOf(sqs, config.queues.work)
  snapshot.queues.deadLetter = await depthOf(sqs, config.queues.deadLetter)
  return snapshot
}

/**
 * Checks the invariants of issue 12 over every payment of a run, after the load has drained:
 * what the workload saw (`records`) against what the table, the queues and the provider's
 * ledger hold. Every check can fail; the tests fabricate a violation of each.
 */
export function evaluateInvariants (snapshot: Snapshot, records: readonly RequestRecord[]): InvariantResult[] {
  return [
    settledOrVisible(snapshot),
    oneCharge(snapshot),
    ledgerAgrees(snapshot),
    oneKeyOnePayment(snapshot, records),
    summariesMatch(snapshot),
    no5xx(records),
    noMessageLost(snapshot),
    historyForward(snapshot)
  ]
}

/** takeSnapshot, then evaluateInvariants. */
export async function checkInvariants (options: Parameters<typeof takeSnapshot>[0] & { records: readonly RequestRecord[] }): Promise<InvariantResult[]> {
  return evaluateInvariants(await takeSnapshot(options), options.records)
}

/** The results as a printable table, and the count held (`N/N`) on its last line. */
export function formatInvariants (results: readonly InvariantResult[]): string {
  const width = Math.max(...results.map((result) => result.name.length), 'invariant'.length)
  const rows = results.map((result) => `${result.name.padEnd(width)}  ${result.held ? 'held  ' : 'FAILED'}  ${result.detail}`)
  const held = results.filter((result) => result.held).length
  return [`${'invariant'.padEnd(width)}  result  detail`, `${'-'.repeat(width)}  ------  ------`, ...rows, `invariants held: ${held}/${results.length}`].join('\n')
}

function settledOrVisible ({ payments, deadLetters }: Snapshot): InvariantResult {
  const redrivable = new Set(deadLetters.filter((letter) => letter.kind === 'message' && letter.status !== 'redriven' && letter.paymentId !== undefined).map((letter) => letter.paymentId))
  const waiting = payments.filter((payment) => !FINAL.has(payment.status))
  const visible = waiting.filter((payment) => payment.attention !== undefined || payment.awaitingProvider === true || redrivable.has(payment.id))
  const stuck = waiting.filter((payment) => !visible.includes(payment))
  return result(Invariant.settledOrVisible, stuck.length === 0,
    `${payments.length - waiting.length} final, ${visible.length} visibly waiting (attention, awaiting the provider or an open dead letter), ${stuck.length} silently stuck${examples(stuck.map((payment) => `${payment.id} ${payment.status}`))}`)
}

function oneCharge ({ ledger }: Snapshot): InvariantResult {
  const twice = [...countBy(ledger, (entry) => entry.paymentId)].filter(([, count]) => count > 1)
  return result(Invariant.oneCharge, twice.length === 0,
    `${ledger.length} charges for ${new Set(ledger.map((entry) => entry.paymentId)).size} payments; charged more than once: ${twice.length}${examples(twice.map(([id, count]) => `${id} ×${count}`))}`)
}

function ledgerAgrees ({ payments, ledger }: Snapshot): InvariantResult {
  const charged = new Set(ledger.map((entry) => entry.paymentId))
  const byId = new Map(payments.map((payment) => [payment.id, payment]))
  const chargedNotSettled = [...charged].filter((id) => !CHARGED.has(byId.get(id)?.status ?? 'pending'))
  const settledNotCharged = payments.filter((payment) => CHARGED.has(payment.status) && !charged.has(payment.id))
  return result(Invariant.ledgerAgrees, chargedNotSettled.length === 0 && settledNotCharged.length === 0,
    `charged but not succeeded or refunded: ${chargedNotSettled.length}${examples(chargedNotSettled.map((id) => `${id} ${byId.get(id)?.status ?? 'not in the table'}`))}; ` +
    `succeeded or refunded but never charged: ${settledNotCharged.length}${examples(settledNotCharged.map((payment) => payment.id))}`)
}

function oneKeyOnePayment ({ payments, idempotency }: Snapshot, records: readonly RequestRecord[]): InvariantResult {
  const answered = new Map<string, Set<string>>()
  for (const record of records) {
    if (record.idempotencyKey === undefined || record.paymentId === undefined || (record.status !== 200 && record.status !== 201)) continue
    const ids = answered.get(record.idempotencyKey) ?? new Set()
    ids.add(record.paymentId)
    answered.set(record.idempotencyKey, ids)
  }
  const answeredTwice = [...answered].filter(([, ids]) => ids.size > 1)
  // In the table: the key's record names the payment the answers named; and each payment was
  // written with exactly one key (one written without its record, or with two, is a key that
  // made two payments).
  const recordsByKey = new Map<string, IdempotencyRecord[]>()
  for (const record of idempotency) recordsByKey.set(record.key, [...recordsByKey.get(record.key) ?? [], record])
  const tableDisagrees = [...answered].filter(([key, ids]) => (recordsByKey.get(key) ?? []).some((record) => !ids.has(record.resourceId)) || (recordsByKey.get(key) ?? []).length === 0)
  const keysOfPayment = countBy(idempotency, (record) => record.resourceId)
  const notOneKey = payments.filter((payment) => keysOfPayment.get(payment.id) !== 1)
  return result(Invariant.oneKeyOnePayment, answeredTwice.length === 0 && tableDisagrees.length === 0 && notOneKey.length === 0,
    `${answered.size} keys answered with a payment; keys answered with two payments: ${answeredTwice.length}${examples(answeredTwice.map(([key, ids]) => `${key} → ${[...ids].join(', ')}`))}; ` +
    `keys whose stored record names another payment or none: ${tableDisagrees.length}${examples(tableDisagrees.map(([key]) => key))}; ` +
    `payments not written with exactly one key: ${notOneKey.length}${examples(notOneKey.map((payment) => `${payment.id} (${keysOfPayment.get(payment.id) ?? 0})`))}`)
}

function summariesMatch ({ payments, summaries }: Snapshot): InvariantResult {
  const wrong: string[] = []
  const byCustomer = new Map<string, Payment[]>()
  for (const payment of payments) byCustomer.set(payment.customerId, [...byCustomer.get(payment.customerId) ?? [], payment])
  for (const [customerId, theirs] of byCustomer) {
    const expected = recompute(customerId, theirs)
    const actual = summaries.get(customerId)
    if (JSON.stringify(actual) !== JSON.stringify(expected)) wrong.push(`${customerId}: kept ${describe(actual)}, recomputed ${describe(expected)}`)
  }
  return result(Invariant.summaries, wrong.length === 0, `${byCustomer.size} customers; summaries that differ: ${wrong.length}${examples(wrong)}`)
}

function no5xx (records: readonly RequestRecord[]): InvariantResult {
  const serverErrors = records.filter((record) => record.status >= 500)
  const undocumented = serverErrors.filter((record) => record.status !== 503 || !DOCUMENTED_503.has(record.error ?? ''))
  const unanswered = records.filter((record) => record.status === 0).length
  return result(Invariant.no5xx, undocumented.length === 0,
    `${records.length} requests, ${serverErrors.length - undocumented.length} documented 503s (${[...DOCUMENTED_503].join(', ')}), ${undocumented.length} other 5xx${examples(undocumented.map((record) => `${record.route} ${record.status} ${record.error ?? ''}`.trim()))}; ${unanswered} got no answer`)
}

function noMessageLost ({ payments, deadLetters, queues }: Snapshot): InvariantResult {
  const left = (depth: QueueDepth): number => depth.visible + depth.inFlight + depth.delayed
  const waiting = payments.filter((payment) => !FINAL.has(payment.status))
  const accounted = new Set(deadLetters.map((letter) => letter.paymentId))
  const unaccounted = waiting.filter((payment) => payment.attention === undefined && payment.awaitingProvider !== true && !accounted.has(payment.id))
  const held = left(queues.work) === 0 && left(queues.deadLetter) === 0 && unaccounted.length === 0
  return result(Invariant.noMessageLost, held,
    `work queue holds ${left(queues.work)}, dead-letter queue ${left(queues.deadLetter)}; ${deadLetters.length} dead letters (${[...countBy(deadLetters, (letter) => letter.status)].map(([status, count]) => `${count} ${status}`).join(', ') || 'none'}); ` +
    `unsettled payments with neither a dead letter nor an attention flag: ${unaccounted.length}${examples(unaccounted.map((payment) => payment.id))}`)
}

function historyForward ({ payments, events }: Snapshot): InvariantResult {
  const byPayment = new Map<string, PaymentEvent[]>()
  for (const event of events) byPayment.set(event.paymentId, [...byPayment.get(event.paymentId) ?? [], event])
  const broken: string[] = []
  for (const payment of payments) {
    const history = (byPayment.get(payment.id) ?? []).sort((a, b) => a.version - b.version)
    const problem = historyProblem(payment, history)
    if (problem !== undefined) broken.push(`${payment.id}: ${problem}`)
  }
  return result(Invariant.historyForward, broken.length === 0, `${events.length} status changes over ${payments.length} payments; broken histories: ${broken.length}${examples(broken)}`)
}

function historyProblem (payment: Payment, history: PaymentEvent[]): string | undefined {
  const first = history[0]
  if (first === undefined || first.version !== 1 || first.status !== 'pending') return 'does not start pending at version 1'
  for (let i = 1; i < history.length; i++) {
    const [previous, event] = [history[i - 1] as PaymentEvent, history[i] as PaymentEvent]
    if (event.version !== previous.version + 1) return `version ${previous.version} is followed by ${event.version}`
    if (!canTransition(previous.status, event.status)) return `moved ${previous.status} → ${event.status}`
  }
  const last = history[history.length - 1] as PaymentEvent
  if (last.version !== payment.version || last.status !== payment.status) return `is ${payment.status} at version ${payment.version}, its history ends ${last.status} at ${last.version}`
  return undefined
}

/** A customer's summary as the projection should hold it, from their payments. */
function recompute (customerId: string, payments: readonly Payment[]): CustomerSummary {
  const buckets = new Map<string, SummaryBucket>()
  const refunded = new Map<string, number>()
  for (const payment of payments) {
    if ((payment.amountRefunded ?? 0) > 0) refunded.set(payment.currency, (refunded.get(payment.currency) ?? 0) + (payment.amountRefunded ?? 0))
    const name = `${payment.currency}#${payment.status}`
    const bucket = buckets.get(name) ?? { currency: payment.currency, status: payment.status, count: 0, amount: 0 }
    bucket.count++
    bucket.amount += payment.amount
    buckets.set(name, bucket)
  }
  const totals = [...buckets.values()].sort((a, b) => a.currency.localeCompare(b.currency) || a.status.localeCompare(b.status))
  const lastPaymentAt = payments.map((payment) => payment.createdAt).sort().pop() ?? null
  const refundedTotals = [...refunded].map(([currency, amount]) => ({ currency, amount })).sort((a, b) => a.currency.localeCompare(b.currency))
  return { customerId, totals, refunded: refundedTotals, lastPaymentAt }
}

function describe (summary: CustomerSummary | undefined): string {
  if (summary === undefined) return 'nothing'
  return summary.totals.map((bucket) => `${bucket.count} ${bucket.status} ${bucket.amount} ${bucket.currency}`).join(', ') || 'no payments'
}

function result (name: string, held: boolean, detail: string): InvariantResult {
  return { name, held, detail }
}

function examples (items: readonly string[]): string {
  if (items.length === 0) return ''
  return ` (${items.slice(0, EXAMPLES).join('; ')}${items.length > EXAMPLES ? `; ${items.length - EXAMPLES} more` : ''})`
}

function countBy<T> (items: readonly T[], keyOf: (item: T) => string | undefined): Map<string, number> {
  const counts = new Map<string, number>()
  for (const item of items) {
    const key = keyOf(item)
    if (key !== undefined) counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return counts
}

function empty (): QueueDepth {
  return { visible: 0, inFlight: 0, delayed: 0 }
}

/** The SDK clients for the run's endpoints, with its credentials when its environment names them. */
function clientsFor (config: Config, env: Readonly<Record<string, string>>): AwsClients {
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = env
  const credentials = accessKeyId !== undefined && secretAccessKey !== undefined ? { credentials: { accessKeyId, secretAccessKey } } : {}
  return {
    dynamodb: new DynamoDBClient({ ...clientOptions(config, 'dynamodb'), ...credentials }),
    sqs: new SQSClient({ ...clientOptions(config, 'sqs'), ...credentials })
  }
}

async function depthOf (sqs: SQSClient, queue: Config['queues']['work']): Promise<QueueDepth> {
  const url = queue.url ?? (await sqs.send(new GetQueueUrlCommand({ QueueName: queue.name }))).QueueUrl
  const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({
    QueueUrl: url,
    AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed']
  }))
  return {
    visible: Number(Attributes.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
    delayed: Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0)
  }
}
