import { createHmac, timingSafeEqual } from 'node:crypto'
import { WebhookSignatureError } from '../../errors.js'
import { SignatureProblem, checkTimestamp, parseUnixSeconds } from './errors.js'

/** What a Stripe webhook is verified with. */
export interface StripeVerification {
  /** The `Stripe-Signature` header. */
  header: string | undefined
  rawBody: Buffer
  /** Every active endpoint secret (`whsec_...`); any one may match. */
  secrets: readonly string[]
  now: Date
  toleranceSeconds: number
}

/**
 * Verifies a Stripe webhook: `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]`, each
 * v1 an HMAC-SHA256 keyed with the whole secret over `<t>.<raw body>`. Valid if any v1 matches
 * any secret (constant-time); v0 and other schemes are ignored. Unlike stripe-node, a timestamp
 * too far in the future is refused as well as one too old.
 * NOTE: https://docs.stripe.com/webhooks#verify-manually
 * @throws WebhookSignatureError saying which check failed
 */
export function verifyStripeSignature ({ header, rawBody, secrets, now, toleranceSeconds }: StripeVerification): void {
  if (header === undefined || header.trim() === '') throw new WebhookSignatureError('the Stripe-Signature header is missing', { problem: SignatureProblem.missingHeader })

  let timestamp: number | undefined
  const signatures: Buffer[] = []
  for (const part of header.split(',')) {
    const separator = part.indexOf('=')
    if (separator <= 0) throw new WebhookSignatureError('Stripe-Signature must be comma-separated key=value pairs', { problem: SignatureProblem.malformedHeader })
    const key = part.slice(0, separator).trim()
    const value = part.slice(separator + 1).trim()
    if (key === 't') timestamp = parseUnixSeconds(value)
    if (key === 'v1' && /^[0-9a-fA-F]{64}$/.test(value)) signatures.push(Buffer.from(value, 'hex'))
  }
  if (timestamp === undefined) throw new WebhookSignatureError('Stripe-Signature has no valid t= timestamp', { problem: SignatureProblem.malformedHeader })
  checkTimestamp(timestamp, now, toleranceSeconds)
  if (signatures.length === 0) throw new WebhookSignatureError('Stripe-Signature has no v1 signature', { problem: SignatureProblem.noMatchingSignature })

  const prefix = Buffer.from(`${timestamp}.`)
  let matched = false
  for (const secret of secrets) {
    const expected = createHmac('sha256', secret).update(prefix).update(rawBody).digest()
    for (const signature of signatures) {
      if (timingSafeEqual(expected, signature)) matched = true
    }
  }
  if (!matched) throw new WebhookSignatureError('no v1 signature matches an active secret', { problem: SignatureProblem.noMatchingSignature })
}
