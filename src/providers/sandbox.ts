import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from 'pino'
import type { Config } from '../config/load.js'
import { signStandardWebhook } from '../domain/webhooks/signatures/standard-webhooks.js'
import { unixSeconds } from '../domain/time.js'
import { TransientProviderError, type ChargeResult, type PaymentProvider, type RefundResult } from './types.js'
import { openSandboxLedger, type SandboxLedger } from './sandbox-ledger.js'

/**
 * The sandbox's outcomes, by the amount's last two digits. Everything not listed succeeds.
 * Documented in the README; tests and local runs pick outcomes by amount.
 */
export const SANDBOX_OUTCOMES = {
  51: { kind: 'decline', reason: 'card_declined' },
  52: { kind: 'decline', reason: 'insufficient_funds' },
  61: { kind: 'transient-once', reason: 'processor_unavailable' },
  62: { kind: 'transient-always', reason: 'processor_unavailable' },
  71: { kind: 'slow', reason: 'takes 30 s to answer' },
  /** Off-session: the card wants the customer to authenticate, as an EU card under SCA may. */
  81: { kind: 'decline', reason: 'authentication_required' }
} as const

/** The sandbox's refund outcomes, by the refund amount's last two digits. Everything not listed succeeds. */
export const SANDBOX_REFUND_OUTCOMES = {
  51: { kind: 'decline', reason: 'refund_declined' }
} as const

const SLOW_MS = 30_000

/** How the sandbox behaves. */
export interface SandboxOptions {
  /** Added to every charge, to see timeouts and concurrency locally. */
  latencyMs: number
  /** Where to send a signed Standard Webhook after each outcome (read at send time); none if undefined. */
  webhookUrl: string | (() => string | undefined) | undefined
  /** The Standard Webhooks secret to sign with. */
  webhookSecret: string | undefined
  logger: Logger
  clock: () => Date
  /**
   * Where its real charges are kept beyond the process: replayed at start, so its idempotency
   * (a key's first result) survives a crash, as a real provider's does. In memory only if none.
   */
  ledger?: SandboxLedger
}

/** The sandbox provider, plus what tests want to know of it. */
export interface SandboxProvider extends PaymentProvider {
  /**
   * How many real charges were made for a payment, whatever idempotency keys were used: more
   * than one is a double charge.
   */
  chargesFor: (paymentId: string) => number
  /** How many real refunds were made under a refund id, whatever the retries: more than one is a double refund. */
  refundsFor: (refundId: string) => number
  /** How many calls reached it for an idempotency key, retries included. */
  attemptsFor: (idempotencyKey: string) => number
  /** Resolves when every webhook it has started to send is sent (or has failed). */
  drain: () => Promise<void>
  /** Makes every call fail, as if the provider were down, until set back to false. */
  setDown: (down: boolean) => void
  /** Replaces the configured latency until set back to undefined. */
  setLatency: (latencyMs: number | undefined) => void
}

/**
 * A deterministic provider for local runs and tests: the outcome depends on the amount's last
 * two digits; it keeps its own idempotency by key (a repeated key replays the first outcome and
 * never charges again); it can send a signed Standard Webhook for each outcome, so a local run
 * shows the whole loop: create → charge → webhook → final status. Refunds likewise, by the refund
 * amount (SANDBOX_REFUND_OUTCOMES), with `refund.succeeded` / `refund.failed` webhooks; they are
 * kept in memory only (the ledger records charges).
 */
export function createSandboxProvider (options: SandboxOptions): SandboxProvider {
  const results = new Map<string, ChargeResult>()
  const refundResults = new Map<string, RefundResult>()
  const refundsByRef = new Map<string, RefundResult>()
  const refunds = new Map<string, number>()
  const attempts = new Map<string, number>()
  const charges = new Map<string, number>()
  const sending = new Set<Promise<void>>()
  let down = false
  let latencyMs: number | undefined
  const { ledger } = options
  for (const entry of ledger?.entries() ?? []) {
    results.set(entry.idempotencyKey, { outcome: 'succeeded', providerRef: entry.providerRef })
    charges.set(entry.paymentId, (charges.get(entry.paymentId) ?? 0) + 1)
  }

  const sendWebhook = (type: string, data: Record<string, unknown> & { paymentId: string }): void => {
    const { webhookSecret } = options
    const webhookUrl = typeof options.webhookUrl === 'function' ? options.webhookUrl() : options.webhookUrl
    if (webhookUrl === undefined || webhookSecret === undefined) return
    const id = `msg_${randomUUID()}`
    const body = JSON.stringify({ type, data })
    const timestamp = unixSeconds(options.clock())
    const delivery = fetch(webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signStandardWebhook(webhookSecret, id, timestamp, body) },
      body,
      signal: AbortSignal.timeout(5_000)
    }).then(async (response) => {
      await response.body?.cancel()
      if (!response.ok) options.logger.warn({ status: response.status, paymentId: data.paymentId }, 'sandbox webhook was not accepted')
    }, (error: unknown) => {
      options.logger.warn({ err: error, paymentId: data.paymentId }, 'sandbox webhook could not be sent')
    }).finally(() => { sending.delete(delivery) })
    sending.add(delivery)
  }
  /** Waits as configured, then fails if the sandbox is down. */
  const reach = async (key: string, signal: AbortSignal): Promise<void> => {
    attempts.set(key, (attempts.get(key) ?? 0) + 1)
    const latency = latencyMs ?? options.latencyMs
    if (latency > 0) await sleep(latency, undefined, { signal })
    if (down) throw new TransientProviderError('sandbox: provider is down')
  }

  return {
    name: 'sandbox',
    async charge (request, { signal }) {
      const key = request.idempotencyKey
      await reach(key, signal)
      const previous = results.get(key)
      if (previous !== undefined) return previous

      const outcome = SANDBOX_OUTCOMES[(request.amount % 100) as keyof typeof SANDBOX_OUTCOMES]
      if (outcome?.kind === 'transient-always') throw new TransientProviderError(`sandbox: ${outcome.reason}`)
      if (outcome?.kind === 'transient-once' && attempts.get(key) === 1) throw new TransientProviderError(`sandbox: ${outcome.reason}`)
      if (outcome?.kind === 'slow') await sleep(SLOW_MS, undefined, { signal })

      const providerRef = `sbx_${request.paymentId}`
      // On-session, the customer's browser would confirm: nothing is charged here, and no webhook sent.
      if (request.confirmation === 'client') return { outcome: 'requires_action', providerRef, clientSecret: `${providerRef}_secret_sandbox` }
      const result: ChargeResult = outcome?.kind === 'decline'
        ? { outcome: 'declined', providerRef, reason: outcome.reason }
        : { outcome: 'succeeded', providerRef }
      if (result.outcome === 'succeeded') {
        ledger?.record({ paymentId: request.paymentId, idempotencyKey: key, providerRef, at: options.clock().toISOString() })
        charges.set(request.paymentId, (charges.get(request.paymentId) ?? 0) + 1)
      }
      results.set(key, result)
      sendWebhook(result.outcome === 'declined' ? 'payment.failed' : 'payment.succeeded', {
        paymentId: request.paymentId,
        providerRef: result.providerRef,
        ...(result.outcome === 'declined' && { reason: result.reason })
      })
      return result
    },
    async refund (request, { signal }) {
      const key = request.idempotencyKey
      await reach(key, signal)
      // A refund it made before, named by its reference: its own record (under any key it was made with).
      const made = request.refundRef === undefined ? undefined : refundsByRef.get(request.refundRef)
      if (made !== undefined) return made
      const previous = refundResults.get(key)
      if (previous !== undefined) return previous
      const outcome = SANDBOX_REFUND_OUTCOMES[(request.amount % 100) as keyof typeof SANDBOX_REFUND_OUTCOMES]
      const providerRef = `sbx_${request.refundId}`
      const result: RefundResult = outcome === undefined ? { outcome: 'succeeded', providerRef } : { outcome: 'failed', providerRef, reason: outcome.reason }
      if (result.outcome === 'succeeded') refunds.set(request.refundId, (refunds.get(request.refundId) ?? 0) + 1)
      refundResults.set(key, result)
      refundsByRef.set(providerRef, result)
      sendWebhook(result.outcome === 'failed' ? 'refund.failed' : 'refund.succeeded', {
        refundId: request.refundId,
        paymentId: request.paymentId,
        providerRefundRef: providerRef,
        amount: request.amount,
        ...(result.outcome === 'failed' && { reason: result.reason })
      })
      return result
    },
    refundsFor: (refundId) => refunds.get(refundId) ?? 0,
    chargesFor: (paymentId) => charges.get(paymentId) ?? 0,
    attemptsFor: (key) => attempts.get(key) ?? 0,
    drain: async () => { await Promise.all([...sending]) },
    setDown: (value) => { down = value },
    setLatency: (value) => { latencyMs = value }
  }
}

/**
 * The sandbox as configured: latency from SANDBOX_LATENCY_MS, its ledger in SANDBOX_LEDGER_FILE
 * when set, webhooks signed with the first
 * `standard` secret and sent to SANDBOX_WEBHOOK_URL unless a `webhookUrl` is given (the local
 * runtime gives its own address, known only once it listens).
 */
export function sandboxFromConfig (config: Pick<Config, 'provider' | 'webhooks'>, logger: Logger, clock: () => Date, webhookUrl: SandboxOptions['webhookUrl'] = config.provider.sandbox.webhookUrl): SandboxProvider {
  const { latencyMs, ledgerFile } = config.provider.sandbox
  return createSandboxProvider({
    latencyMs,
    webhookUrl,
    webhookSecret: config.webhooks.secrets.standard[0],
    logger,
    clock,
    ...(ledgerFile !== undefined && { ledger: openSandboxLedger(ledgerFile) })
  })
}
