import { createHmac, timingSafeEqual } from 'node:crypto'
import { WebhookSignatureError } from '../../errors.js'
import { SignatureProblem, checkTimestamp, parseUnixSeconds } from './errors.js'

/** What a Standard Webhooks delivery is verified with. */
export interface StandardWebhookVerification {
  id: string | undefined
  timestamp: string | undefined
  /** The `webhook-signature` header: space-separated `v1,<base64>` entries. */
  signature: string | undefined
  rawBody: Buffer
  /** Every active secret, `whsec_` + base64 of the key; any one may match. */
  secrets: readonly string[]
  now: Date
  toleranceSeconds: number
}

/**
 * Verifies a Standard Webhooks delivery: HMAC-SHA256 keyed with the base64-decoded secret over
 * `<webhook-id>.<webhook-timestamp>.<raw body>`, base64. Valid if any v1 entry matches any secret
 * (constant-time); entries of other versions are skipped.
 * NOTE: https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
 * @throws WebhookSignatureError saying which check failed
 */
export function verifyStandardWebhook ({ id, timestamp, signature, rawBody, secrets, now, toleranceSeconds }: StandardWebhookVerification): void {
  const missing = [['webhook-id', id], ['webhook-timestamp', timestamp], ['webhook-signature', signature]]
    .filter(([, value]) => value === undefined || value.trim() === '')
    .map(([name]) => name)
  if (missing.length > 0) throw new WebhookSignatureError(`missing header${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`, { problem: SignatureProblem.missingHeader })

  const seconds = parseUnixSeconds(timestamp?.trim())
  if (seconds === undefined) throw new WebhookSignatureError('webhook-timestamp must be whole Unix seconds', { problem: SignatureProblem.malformedHeader })
  const entries = (signature ?? '').trim().split(/\s+/).map((entry) => entry.split(','))
  if (entries.some((entry) => entry.length !== 2 || entry[0] === '' || entry[1] === '')) {
    throw new WebhookSignatureError('webhook-signature must be space-separated <version>,<base64> entries', { problem: SignatureProblem.malformedHeader })
  }
  checkTimestamp(seconds, now, toleranceSeconds)

  const candidates = entries.filter(([version]) => version === 'v1').map(([, value]) => Buffer.from(value ?? '', 'base64'))
  if (candidates.length === 0) throw new WebhookSignatureError('webhook-signature has no v1 entry', { problem: SignatureProblem.noMatchingSignature })

  const prefix = Buffer.from(`${id}.${seconds}.`)
  let matched = false
  for (const secret of secrets) {
    const expected = createHmac('sha256', secretKey(secret)).update(prefix).update(rawBody).digest()
    for (const candidate of candidates) {
      if (candidate.length === expected.length && timingSafeEqual(expected, candidate)) matched = true
    }
  }
  if (!matched) throw new WebhookSignatureError('no v1 signature matches an active secret', { problem: SignatureProblem.noMatchingSignature })
}

/** The HMAC key of a Standard Webhooks secret: base64 after the `whsec_` prefix. */
export function secretKey (secret: string): Buffer {
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64')
}

/** Signs a payload as a Standard Webhooks sender does (the sandbox provider uses it). */
export function signStandardWebhook (secret: string, id: string, timestamp: number, body: string): string {
  return `v1,${createHmac('sha256', secretKey(secret)).update(`${id}.${timestamp}.${body}`).digest('base64')}`
}
