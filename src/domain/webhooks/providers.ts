/** The webhook senders paylith verifies. */
export const WEBHOOK_PROVIDERS = ['stripe', 'standard'] as const

/** One webhook sender. */
export type WebhookProvider = (typeof WEBHOOK_PROVIDERS)[number]

/** Whether a path segment names a provider paylith knows. */
export function isWebhookProvider (value: string): value is WebhookProvider {
  return (WEBHOOK_PROVIDERS as readonly string[]).includes(value)
}

/** Secrets per provider; several are active at once during a rotation. */
export type WebhookSecretMap = Readonly<Record<WebhookProvider, readonly string[]>>

/**
 * Parses `<provider>=<secret>` entries, comma-separated; a provider may repeat. Problems name
 * the entry by position and never repeat a secret.
 */
export function parseWebhookSecrets (value: string, problems: string[], source = 'WEBHOOK_SECRETS'): WebhookSecretMap {
  const secrets: Record<WebhookProvider, string[]> = { stripe: [], standard: [] }
  value.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '').forEach((entry, index) => {
    const separator = entry.indexOf('=')
    const provider = entry.slice(0, separator)
    const secret = entry.slice(separator + 1).trim()
    if (separator <= 0 || !isWebhookProvider(provider) || secret === '') {
      problems.push(`${source} entry ${index + 1}: expected <provider>=<secret> with provider one of ${WEBHOOK_PROVIDERS.join(', ')}, found something else (not shown, it may hold a secret)`)
      return
    }
    const weakness = secretWeakness(provider, secret)
    if (weakness !== undefined) {
      problems.push(`${source} entry ${index + 1}: the ${provider} secret ${weakness} (not shown)`)
      return
    }
    secrets[provider].push(secret)
  })
  return secrets
}

/**
 * Why a secret is too weak to verify with, if it is: a Standard Webhooks key must decode to
 * 24 to 64 bytes (the spec's range); a Stripe endpoint secret is `whsec_` and more.
 */
function secretWeakness (provider: WebhookProvider, secret: string): string | undefined {
  if (provider === 'stripe') return secret.length < 16 ? 'is shorter than 16 characters' : undefined
  const base64 = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) return 'is not base64 after its whsec_ prefix'
  const bytes = Buffer.from(base64, 'base64').length
  return bytes < 24 || bytes > 64 ? `decodes to ${bytes} bytes; 24 to 64 are needed` : undefined
}
