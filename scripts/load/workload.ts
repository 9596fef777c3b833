import { randomUUID } from 'node:crypto'
import { signStandardWebhook } from '../../src/domain/webhooks/signatures/standard-webhooks.js'
import { SANDBOX_OUTCOMES } from '../../src/providers/sandbox.js'
import { RequestKind, type LoadOptions, type Mix } from './options.js'
import { runOpenLoop, type OpenLoopResult } from './pacing.js'
import type { RequestRecord } from './types.js'

/** Route templates, as records name them. */
export const Route = {
  create: 'POST /v1/payments',
  read: 'GET /v1/payments/:id',
  list: 'GET /v1/payments',
  webhook: 'POST /v1/webhooks/:provider'
} as const

/** What the workload is asked to do, and where. */
export interface WorkloadOptions extends Pick<LoadOptions, 'rate' | 'durationMs' | 'mix' | 'unhealthyShare' | 'unhealthyEndings' | 'repeatShare' | 'customers' | 'maxInFlight' | 'requestTimeoutMs'> {
  url: string
  apiKey: string
  /** Signs the workload's webhooks; without it none are sent (creates are sent instead). */
  webhookSecret: string | undefined
  /** Ends the load early; requests in flight are aborted. */
  signal?: AbortSignal
  /** Called about once a second while the load runs. */
  onProgress?: (progress: WorkloadProgress) => void
  /** Random numbers in [0, 1), for the mix and the amounts. */
  random?: () => number
  /**
   * Whether a webhook may be sent for a payment now (default: any created payment). A chaos run
   * allows only what the provider has really done: a success for a payment its ledger charged.
   */
  webhookAllowed?: (payment: CreatedPayment) => boolean
}

/** The load so far, for the terminal. */
export interface WorkloadProgress {
  elapsedMs: number
  sent: number
  completed: number
  errors: number
  inFlight: number
  shed: number
}

/** A payment the workload created (201), as it knows it. */
export interface CreatedPayment {
  id: string
  customerId: string
  amount: number
  idempotencyKey: string
}

/** Everything the workload did. */
export interface WorkloadResult extends OpenLoopResult {
  records: RequestRecord[]
  /** Every payment a create answered with, by id. */
  payments: ReadonlyMap<string, CreatedPayment>
}

/** A create as sent, kept so a later create can repeat it. */
interface SentCreate {
  idempotencyKey: string
  body: { amount: number, currency: string, customerId: string, description: string }
}

/** The kind for a random number: each kind's share of the mix. */
export function pickKind (mix: Mix, value: number): RequestKind {
  const kinds = Object.values(RequestKind)
  const total = kinds.reduce((sum, kind) => sum + mix[kind], 0)
  let threshold = value * total
  for (const kind of kinds) {
    if (mix[kind] === 0) continue
    threshold -= mix[kind]
    if (threshold < 0) return kind
  }
  return kinds.filter((kind) => mix[kind] > 0).at(-1) ?? RequestKind.creates
}

/** The last path segment of a problem type, or the error's code for a request with no answer. */
export function errorType (error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } }).cause
  if (typeof cause?.code === 'string') return cause.code
  const name = (error as { name?: unknown }).name
  return name === 'TimeoutError' ? 'timeout' : name === 'AbortError' ? 'aborted' : typeof name === 'string' ? name : 'network'
}

/** What the webhook of a payment says, per the sandbox's outcome for its amount; undefined when the sandbox never settles it quickly. */
export function webhookPayloadFor (payment: Pick<CreatedPayment, 'id' | 'amount'>): object | undefined {
  const outcome = (SANDBOX_OUTCOMES as Record<number, { kind: string, reason: string } | undefined>)[payment.amount % 100]
  const data = { paymentId: payment.id, providerRef: `sbx_${payment.id}` }
  if (outcome === undefined || outcome.kind === 'transient-once') return { type: 'payment.succeeded', data }
  if (outcome.kind === 'decline') return { type: 'payment.failed', data: { ...data, reason: outcome.reason } }
  return undefined
}

/**
 * Runs the mixed workload on an open-loop schedule and records every request: creates with
 * fresh Idempotency-Keys (and some repeating an earlier create's key and body, as a client
 * retrying after a timeout), reads of created payments, per-customer lists, and signed
 * Standard Webhooks telling what the sandbox will decide for a created payment (a provider's
 * webhook may come before our own charge). A read, list or webhook with nothing to name yet is
 * a create instead.
 */
export async function runWorkload (options: WorkloadOptions): Promise<WorkloadResult> {
  const { url, apiKey, webhookSecret, signal, random = Math.random } = options
  const records: RequestRecord[] = []
  const payments = new Map<string, CreatedPayment>()
  const created: CreatedPayment[] = []
  const creates: SentCreate[] = []
  const customersWithPayments: string[] = []
  const auth = { authorization: `Bearer ${apiKey}` }
  let sent = 0
  let inFlight = 0
  let completed = 0
  let errors = 0
  let shed = 0
  const pick = <T>(items: readonly T[]): T | undefined => items[Math.floor(random() * items.length)]

  /** Sends one request and records it; resolves with the record and, for a 2xx, the JSON body. */
  const request = async (record: Omit<RequestRecord, 'at' | 'ms' | 'status'>, path: string, init: RequestInit): Promise<{ done: RequestRecord, body: Record<string, unknown> | undefined }> => {
    const at = Date.now()
    sent++
    inFlight++
    const timeout = AbortSignal.timeout(options.requestTimeoutMs)
    let done: RequestRecord
    let body: Record<string, unknown> | undefined
    try {
      const response = await fetch(`${url}${path}`, { ...init, signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]) })
      const text = await response.text()
      try { body = JSON.parse(text) as Record<string, unknown> } catch { body = undefined }
      const problem = response.status >= 400 ? (typeof body?.type === 'string' ? body.type.split('/').at(-1) : `http-${response.status}`) : undefined
      done = { ...record, at, ms: Date.now() - at, status: response.status, ...(problem !== undefined && { error: problem }) }
    } catch (error) {
      done = { ...record, at, ms: Date.now() - at, status: 0, error: errorType(error) }
    }
    inFlight--
    completed++
    if (done.error !== undefined) errors++
    records.push(done)
    return { done, body: done.status >= 200 && done.status < 300 ? body : undefined }
  }

  const create = async (): Promise<void> => {
    const repeat = creates.length > 0 && random() < options.repeatShare ? pick(creates) : undefined
    const unhealthy = random() < options.unhealthyShare ? pick(options.unhealthyEndings) : undefined
    const customerId = `cus_load_${Math.floor(random() * options.customers)}`
    const next: SentCreate = repeat ?? {
      idempotencyKey: `load-${randomUUID()}`,
      body: { amount: (1 + Math.floor(random() * 999)) * 100 + (unhealthy ?? 0), currency: 'EUR', customerId, description: 'npm run load' }
    }
    if (repeat === undefined) creates.push(next)
    const { done, body } = await request({ route: Route.create, idempotencyKey: next.idempotencyKey, customerId: next.body.customerId }, '/v1/payments', {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', 'idempotency-key': next.idempotencyKey },
      body: JSON.stringify(next.body)
    })
    const id = body?.id
    if (typeof id !== 'string') return
    done.paymentId = id
    if (payments.has(id)) return
    const payment = { id, customerId: next.body.customerId, amount: next.body.amount, idempotencyKey: next.idempotencyKey }
    payments.set(id, payment)
    created.push(payment)
    if (!customersWithPayments.includes(payment.customerId)) customersWithPayments.push(payment.customerId)
  }

  const read = async (payment: CreatedPayment): Promise<void> => {
    await request({ route: Route.read, paymentId: payment.id, customerId: payment.customerId }, `/v1/payments/${payment.id}`, { headers: auth })
  }

  const list = async (customerId: string): Promise<void> => {
    await request({ route: Route.list, customerId }, `/v1/payments?customerId=${encodeURIComponent(customerId)}&limit=20`, { headers: auth })
  }

  const webhook = async (payment: CreatedPayment, payload: object, secret: string): Promise<void> => {
    const id = `msg_load_${randomUUID()}`
    const timestamp = Math.floor(Date.now() / 1000)
    const body = JSON.stringify(payload)
    await request({ route: Route.webhook, paymentId: payment.id, customerId: payment.customerId }, '/v1/webhooks/standard', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signStandardWebhook(secret, id, timestamp, body) },
      body
    })
  }

  const startOne = async (): Promise<void> => {
    const kind = pickKind(options.mix, random())
    const payment = pick(created)
    if (kind === RequestKind.reads && payment !== undefined) return read(payment)
    const customer = pick(customersWithPayments)
    if (kind === RequestKind.lists && customer !== undefined) return list(customer)
    const target = kind === RequestKind.webhooks && options.webhookAllowed !== undefined ? [payment, pick(created), pick(created)].find((one) => one !== undefined && options.webhookAllowed?.(one) === true) : payment
    const payload = target === undefined ? undefined : webhookPayloadFor(target)
    if (kind === RequestKind.webhooks && target !== undefined && payload !== undefined && webhookSecret !== undefined) return webhook(target, payload, webhookSecret)
    return create()
  }

  const startedAt = Date.now()
  const progress = (): WorkloadProgress => ({ elapsedMs: Date.now() - startedAt, sent, completed, errors, inFlight, shed })
  const ticker = options.onProgress === undefined ? undefined : setInterval(() => options.onProgress?.(progress()), 1000)
  try {
    const result = await runOpenLoop({ rate: options.rate, durationMs: options.durationMs, maxInFlight: options.maxInFlight, signal, onShed: () => { shed++ } }, startOne)
    options.onProgress?.(progress())
    return { ...result, records: records.sort((a, b) => a.at - b.at), payments }
  } finally {
    clearInterval(ticker)
  }
}
