import type { WebhookProvider, WebhookSecretMap } from './providers.js'
import { parseWebhookSecrets } from './providers.js'
import { RefreshOutcome, cachedSecret, throwingProblems, type CachedSecretOptions } from '../../lib/cached-secret.js'

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
 * When Secrets Manager fails, the last secrets read stay in use (src/lib/cached-secret.ts).
 */
export function cachedWebhookSecrets ({ fetch, clock, ttlMs, minRefreshIntervalMs, onFailure }: {
  fetch: SecretFetcher
  clock: () => Date
  ttlMs: number
  minRefreshIntervalMs: number
  onFailure?: CachedSecretOptions<WebhookSecretMap>['onFailure']
}): WebhookSecrets {
  const cache = cachedSecret({
    name: 'webhook secrets',
    fetch,
    parse: throwingProblems((text, problems) => parseWebhookSecrets(text, problems, 'the webhook secret in Secrets Manager')),
    clock,
    ttlMs,
    minRefreshIntervalMs,
    ...(onFailure !== undefined && { onFailure })
  })

  return {
    async current (provider) {
      return (await cache.current())[provider]
    },
    async refreshAfterFailure (provider) {
      const { outcome, value, previous } = await cache.refresh()
      if (outcome !== RefreshOutcome.fetched || value === undefined) return undefined
      const before = previous?.[provider] ?? []
      const after = value[provider]
      const changed = after.length !== before.length || after.some((secret, i) => secret !== before[i])
      return changed ? after : undefined
    }
  }
}
