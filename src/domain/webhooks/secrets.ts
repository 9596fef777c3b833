import type { WebhookProvider, WebhookSecretMap } from './providers.js'
import { parseWebhookSecrets } from './providers.js'

/** Where the webhook route gets the secrets it verifies with. */
export interface WebhookSecrets {
  /** The active secrets of a provider (possibly cached). */
  current: (provider: WebhookProvider) => Promise<readonly string[]>
  /**
   * After a signature failed to verify: fetches the secrets again if allowed (at most once a
   * minute), in case they were rotated, and returns them if they changed.
   */
  refreshAfterFailure: (provider: WebhookProvider) => Promise<readonly string[] | undefined>
}

/** Secrets fixed by configuration (`WEBHOOK_SECRETS`). */
export function staticWebhookSecrets (secrets: WebhookSecretMap): WebhookSecrets {
  return {
    current: async (provider) => secrets[provider],
    refreshAfterFailure: async () => undefined
  }
}

/** Fetches the secrets' text (same format as WEBHOOK_SECRETS), e.g. from Secrets Manager. */
export type SecretFetcher = () => Promise<string>

/**
 * Secrets kept in AWS Secrets Manager, cached for `ttlMs`, and fetched again after a
 * verification failure at most once per `minRefreshIntervalMs`, so a rotation takes effect
 * at once while a flood of forged requests cannot turn into a flood of Secrets Manager calls.
 */
export function cachedWebhookSecrets ({ fetch, clock, ttlMs, minRefreshIntervalMs }: {
  fetch: SecretFetcher
  clock: () => Date
  ttlMs: number
  minRefreshIntervalMs: number
}): WebhookSecrets {
  let cached: { secrets: WebhookSecretMap, fetchedAt: number } | undefined
  let inFlight: Promise<WebhookSecretMap> | undefined

  const load = async (): Promise<WebhookSecretMap> => {
    inFlight ??= (async () => {
      try {
        const problems: string[] = []
        const secrets = parseWebhookSecrets(await fetch(), problems, 'the webhook secret in Secrets Manager')
        if (problems.length > 0) throw new Error(problems.join('; '))
        cached = { secrets, fetchedAt: clock().getTime() }
        return secrets
      } finally {
        inFlight = undefined
      }
    })()
    return inFlight
  }

  return {
    async current (provider) {
      const fresh = cached !== undefined && clock().getTime() - cached.fetchedAt < ttlMs
      return (fresh && cached !== undefined ? cached.secrets : await load())[provider]
    },
    async refreshAfterFailure (provider) {
      if (cached !== undefined && clock().getTime() - cached.fetchedAt < minRefreshIntervalMs) return undefined
      const before = cached?.secrets[provider] ?? []
      const after = (await load())[provider]
      const changed = after.length !== before.length || after.some((secret, i) => secret !== before[i])
      return changed ? after : undefined
    }
  }
}
