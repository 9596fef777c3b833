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
    secrets[provider].push(secret)
  })
  return secrets
}
