import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseWebhookSecrets } from '../../src/domain/webhooks/providers.js'
import { signStandardWebhook } from '../../src/domain/webhooks/signatures/standard-webhooks.js'
import { unixSeconds } from '../../src/domain/time.js'
import type { RequestRecord } from './types.js'

/** The route every storm request is recorded under. */
export const WEBHOOK_ROUTE = 'POST /v1/webhooks/:provider'

/**
 * A payment the storm sends events for, with what the provider really did to it. A `succeeded`
 * target must be one the sandbox charged (its ledger says so) and a `failed` one a decline: the
 * storm repeats, reorders and contradicts the provider's story in the ways a provider does, but
 * never tells a different one (a success for an uncharged payment would be a forged event, which
 * the signature is there to keep out).
 */
export interface StormTarget {
  paymentId: string
  outcome: 'succeeded' | 'failed'
  customerId?: string
}

/** Options of webhookStorm. */
export interface WebhookStormOptions {
  /** The server's base URL. */
  url: string
  /** The server's environment: its `WEBHOOK_SECRETS` holds the Standard Webhooks secret. */
  env: Readonly<Record<string, string>>
  targets: readonly StormTarget[]
  /** Deliveries of each event, sent at once with the same webhook-id (default 3). */
  duplicates?: number
  /** Events started per second, each with its duplicates (default 50). */
  ratePerSecond?: number
  /**
   * The share of targets (0 to 1, default 0.5) that also get an out-of-order, conflicting event:
   * a succeeded payment's refund sent before its success; a declined payment's second decline,
   * with another reason, sent before the first.
   */
  outOfOrderShare?: number
  /** Each request's time limit (default 10 s). */
  timeoutMs?: number
  random?: () => number
}

/** One event of the storm, signed once and sent `duplicates` times. */
interface StormEvent {
  id: string
  paymentId: string
  customerId: string | undefined
  body: string
}

/**
 * Sends signed Standard Webhooks for `targets` at a rate: each event several times at once
 * with the same webhook-id, and for a share of targets a later event before an earlier one,
 * with conflicting outcomes. What the design promises (README: Webhooks): every delivery is
 * answered 2xx (a duplicate stores nothing new), each event applies at most once, and a late
 * or out-of-order event never moves a payment backwards or sideways, so the first final outcome
 * applied stands (a refund moves a success forward). Returns one record per delivery.
 */
export async function webhookStorm (options: WebhookStormOptions): Promise<RequestRecord[]> {
  const { duplicates = 3, ratePerSecond = 50, outOfOrderShare = 0.5, timeoutMs = 10_000, random = Math.random } = options
  const secret = standardSecret(options.env)
  const sequences = options.targets.map((target) => eventsFor(target, random() < outOfOrderShare))
  const events = interleave(sequences, random)

  const records: RequestRecord[] = []
  const started = Date.now()
  const sending: Array<Promise<void>> = []
  for (const [index, event] of events.entries()) {
    const due = started + (index * 1000) / ratePerSecond
    if (due > Date.now()) await sleep(due - Date.now())
    const timestamp = unixSeconds(new Date())
    const headers = { 'content-type': 'application/json', 'webhook-id': event.id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signStandardWebhook(secret, event.id, timestamp, event.body) }
    for (let i = 0; i < duplicates; i++) {
      sending.push(deliver(`${options.url}/v1/webhooks/standard`, headers, event, timeoutMs).then((record) => { records.push(record) }))
    }
  }
  await Promise.all(sending)
  return records.sort((a, b) => a.at - b.at)
}

/** A target's events in the order they are sent: the out-of-order one, when there is one, first. */
function eventsFor (target: StormTarget, outOfOrder: boolean): StormEvent[] {
  const event = (payload: unknown): StormEvent => ({ id: `msg_storm_${randomUUID()}`, paymentId: target.paymentId, customerId: target.customerId, body: JSON.stringify(payload) })
  const providerRef = `sbx_${target.paymentId}`
  if (target.outcome === 'succeeded') {
    const success = event({ type: 'payment.succeeded', data: { paymentId: target.paymentId, providerRef } })
    return outOfOrder ? [event({ type: 'payment.refunded', data: { paymentId: target.paymentId, providerRef } }), success] : [success]
  }
  const decline = event({ type: 'payment.failed', data: { paymentId: target.paymentId, providerRef, reason: 'card_declined' } })
  return outOfOrder ? [event({ type: 'payment.failed', data: { paymentId: target.paymentId, providerRef, reason: 'do_not_honor' } }), decline] : [decline]
}

/** Merges the targets' sequences at random, keeping each sequence's own order. */
function interleave (sequences: StormEvent[][], random: () => number): StormEvent[] {
  const queues = sequences.map((sequence) => [...sequence]).filter((sequence) => sequence.length > 0)
  const merged: StormEvent[] = []
  while (queues.length > 0) {
    const index = Math.floor(random() * queues.length)
    const queue = queues[index] as StormEvent[]
    merged.push(queue.shift() as StormEvent)
    if (queue.length === 0) queues.splice(index, 1)
  }
  return merged
}

async function deliver (url: string, headers: Record<string, string>, event: StormEvent, timeoutMs: number): Promise<RequestRecord> {
  const at = Date.now()
  const base = { route: WEBHOOK_ROUTE, at, paymentId: event.paymentId, ...(event.customerId !== undefined && { customerId: event.customerId }) }
  try {
    const response = await fetch(url, { method: 'POST', headers, body: event.body, signal: AbortSignal.timeout(timeoutMs) })
    const text = await response.text()
    const error = response.ok ? undefined : problemSlug(text)
    return { ...base, ms: Date.now() - at, status: response.status, ...(error !== undefined && { error }) }
  } catch (error) {
    return { ...base, ms: Date.now() - at, status: 0, error: networkCode(error) }
  }
}

/** The first Standard Webhooks secret of `WEBHOOK_SECRETS`. */
function standardSecret (env: Readonly<Record<string, string>>): string {
  const problems: string[] = []
  const secret = parseWebhookSecrets(env.WEBHOOK_SECRETS ?? '', problems).standard[0]
  if (secret === undefined || problems.length > 0) throw new Error(`the webhook storm needs a standard secret in WEBHOOK_SECRETS${problems.length > 0 ? `: ${problems.join('; ')}` : ''}`)
  return secret
}

function problemSlug (text: string): string | undefined {
  try {
    const { type } = JSON.parse(text) as { type?: unknown }
    return typeof type === 'string' ? type.split('/').pop() : undefined
  } catch {
    return undefined
  }
}

function networkCode (error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } }).cause
  if (typeof cause?.code === 'string') return cause.code
  return (error as { name?: string }).name ?? 'Error'
}
