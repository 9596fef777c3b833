import { randomUUID } from 'node:crypto'
import { parseArgs } from 'node:util'
import { parseWebhookSecrets } from '../domain/webhooks/providers.js'
import { signStandardWebhook } from '../domain/webhooks/signatures/standard-webhooks.js'

/** The Standard Webhooks event types `npm run webhook` sends, as paylith reads them. */
const TRIGGER_TYPES = ['payment.succeeded', 'payment.failed', 'payment.refunded', 'refund.succeeded', 'refund.failed'] as const
/** One of TRIGGER_TYPES. */
export type TriggerType = typeof TRIGGER_TYPES[number]

/** One webhook to send: where, signed with what, and what it says. */
export interface WebhookTrigger {
  url: string
  secret: string
  type: TriggerType
  paymentId: string
  reason?: string
  providerRef?: string
  /** A refund event: paylith's refund it ends (`re_…`); without it, a refund made at the provider. */
  refundId?: string
  /** A refund event: the refund's amount in minor units (what a refund made at the provider gave back). */
  amount?: number
  /** A refund event: the provider's id of the refund. */
  providerRefundRef?: string
}

/** Raised for arguments `npm run webhook` cannot use; its message is the one line to print. */
export class TriggerUsageError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'TriggerUsageError'
  }
}

/** How `npm run webhook` is called. */
export const TRIGGER_USAGE = `usage: npm run webhook -- <${TRIGGER_TYPES.join(' | ')}> <paymentId> [--url URL] [--secret whsec_...] [--reason TEXT] [--provider-ref REF] [--refund re_... | --amount N --provider-refund-ref REF]`

/**
 * Reads `npm run webhook`'s arguments. The URL defaults to the local server (HOST, PORT); the
 * secret to the standard entry of WEBHOOK_SECRETS (npm start's banner prints the generated one).
 * @throws TriggerUsageError with the line to print
 */
export function parseTriggerArgs (argv: string[], env: Record<string, string | undefined>): WebhookTrigger {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        url: { type: 'string' },
        secret: { type: 'string' },
        reason: { type: 'string' },
        'provider-ref': { type: 'string' },
        refund: { type: 'string' },
        amount: { type: 'string' },
        'provider-refund-ref': { type: 'string' }
      }
    })
  } catch (error) {
    throw new TriggerUsageError(`${(error as Error).message}\n${TRIGGER_USAGE}`)
  }
  const [type, paymentId, ...rest] = parsed.positionals
  if (type === undefined || paymentId === undefined || rest.length > 0) throw new TriggerUsageError(TRIGGER_USAGE)
  if (!(TRIGGER_TYPES as readonly string[]).includes(type)) throw new TriggerUsageError(`unknown event type ${type}: expected one of ${TRIGGER_TYPES.join(', ')}`)
  const secret = parsed.values.secret ?? parseWebhookSecrets(env.WEBHOOK_SECRETS ?? '', []).standard[0]
  if (secret === undefined) {
    throw new TriggerUsageError('no Standard Webhooks secret: pass --secret (npm start prints the one it generated) or set WEBHOOK_SECRETS=standard=whsec_...')
  }
  const isRefund = type.startsWith('refund.')
  const { refund, amount, 'provider-refund-ref': providerRefundRef } = parsed.values
  if (!isRefund && (refund !== undefined || amount !== undefined || providerRefundRef !== undefined)) {
    throw new TriggerUsageError(`--refund, --amount and --provider-refund-ref belong to refund events, not ${type}`)
  }
  if (amount !== undefined && !/^[1-9]\d{0,14}$/.test(amount)) throw new TriggerUsageError(`--amount ${amount}: expected a positive whole number of minor units`)
  if (isRefund && refund === undefined && (amount === undefined || providerRefundRef === undefined)) {
    throw new TriggerUsageError(`${type} needs --refund re_... (a refund paylith made) or --amount N and --provider-refund-ref REF (one made at the provider)`)
  }
  const url = parsed.values.url ?? `http://${env.HOST ?? '127.0.0.1'}:${env.PORT ?? '3000'}/v1/webhooks/standard`
  return {
    url,
    secret,
    type: type as TriggerType,
    paymentId,
    ...(parsed.values.reason !== undefined && { reason: parsed.values.reason }),
    ...(parsed.values['provider-ref'] !== undefined && { providerRef: parsed.values['provider-ref'] }),
    ...(refund !== undefined && { refundId: refund }),
    ...(amount !== undefined && { amount: Number(amount) }),
    ...(providerRefundRef !== undefined && { providerRefundRef })
  }
}

/**
 * Signs and posts one Standard Webhook, as a provider would (like `stripe trigger`), and
 * returns the server's answer.
 */
export async function sendWebhook (trigger: WebhookTrigger, { timeoutMs = 10_000 }: { timeoutMs?: number } = {}): Promise<{ id: string, status: number, body: unknown }> {
  const id = `msg_${randomUUID()}`
  const timestamp = Math.floor(Date.now() / 1000)
  const body = JSON.stringify({
    type: trigger.type,
    data: {
      paymentId: trigger.paymentId,
      ...(trigger.providerRef !== undefined && { providerRef: trigger.providerRef }),
      ...(trigger.reason !== undefined && { reason: trigger.reason }),
      ...(trigger.refundId !== undefined && { refundId: trigger.refundId }),
      ...(trigger.amount !== undefined && { amount: trigger.amount }),
      ...(trigger.providerRefundRef !== undefined && { providerRefundRef: trigger.providerRefundRef })
    }
  })
  const response = await fetch(trigger.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signStandardWebhook(trigger.secret, id, timestamp, body) },
    body,
    signal: AbortSignal.timeout(timeoutMs)
  })
  const text = await response.text()
  let answer: unknown = text
  try { answer = JSON.parse(text) } catch { /* not JSON: keep the text */ }
  return { id, status: response.status, body: answer }
}
