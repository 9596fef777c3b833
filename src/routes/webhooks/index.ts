import * as Type from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import type { Deps } from '../../deps.js'
import { SignatureProblem } from '../../domain/webhooks/signatures/errors.js'
import { verifyStandardWebhook } from '../../domain/webhooks/signatures/standard-webhooks.js'
import { verifyStripeSignature } from '../../domain/webhooks/signatures/stripe.js'
import { MalformedWebhookError, NotFoundError, WebhookReferenceTooLongError, WebhookSignatureError } from '../../domain/errors.js'
import { MetricName } from '../../observability/metrics.js'
import { ProblemResponse } from '../../http/schemas.js'
import { unixSeconds } from '../../domain/time.js'
import { normalizeWebhookEvent } from '../../domain/webhooks/normalize.js'
import { isWebhookProvider, type WebhookProvider, WEBHOOK_PROVIDERS } from '../../domain/webhooks/providers.js'

/** What the webhook routes need. */
export type WebhookRouteDeps = Pick<Deps, 'config' | 'clock' | 'metrics' | 'webhooks' | 'webhookSecrets'>

/**
 * `POST /v1/webhooks/{provider}`: verify the signature over the exact bytes received, store the
 * event once by (provider, event id), answer 200. Nothing else happens here: no provider call,
 * no payment update; the stream worker takes the stored event from there.
 */
export const webhookRoutes: FastifyPluginAsyncTypebox<{ deps: WebhookRouteDeps }> = async (app, { deps }) => {
  // Every body stays raw bytes in this scope: the signature covers them, not a re-serialisation.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => { done(null, body) })

  app.post('/:provider', {
    config: { auth: 'public' },
    schema: {
      summary: 'Receive a payment provider\'s webhook.',
      description: `Authenticated by signature only: Stripe-Signature for stripe, Standard Webhooks headers for standard. Providers: ${WEBHOOK_PROVIDERS.join(', ')}. ` +
        'A duplicate delivery is answered the same and stores nothing new.',
      tags: ['webhooks'],
      params: Type.Object({ provider: Type.String({ description: WEBHOOK_PROVIDERS.join(' | ') }) }),
      response: { 200: Type.Object({ received: Type.Literal(true) }), 400: ProblemResponse, 404: ProblemResponse, 413: ProblemResponse, 422: ProblemResponse }
    }
  }, async (request) => {
    const { provider } = request.params
    if (!isWebhookProvider(provider)) throw new NotFoundError(`no webhook provider ${JSON.stringify(provider)}; known: ${WEBHOOK_PROVIDERS.join(', ')}`)
    const rawBody = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
    const log = request.log.child({ provider })

    try {
      await verify(deps, provider, request, rawBody)
    } catch (error) {
      if (error instanceof WebhookSignatureError) {
        deps.metrics.count(MetricName.webhookRejected, { provider, reason: error.data.problem })
        log.warn({ reason: error.data.problem, detail: error.message }, 'webhook rejected')
      }
      throw error
    }

    let event
    try {
      event = normalizeWebhookEvent(provider, JSON.parse(rawBody.toString('utf8')), header(request, 'webhook-id'))
    } catch (error) {
      if (error instanceof SyntaxError || error instanceof MalformedWebhookError) throw new MalformedWebhookError(`the verified payload cannot be read: ${error.message}`, { cause: error })
      if (error instanceof WebhookReferenceTooLongError) {
        // Refused, not dropped: the sender sees the failure, and each retry costs no write.
        deps.metrics.count(MetricName.webhookRejected, { provider, reason: 'reference-too-long' })
        log.warn({ reason: 'reference-too-long', field: error.data.field, length: error.data.length }, 'webhook rejected')
      }
      throw error
    }

    const now = deps.clock()
    const outcome = await deps.webhooks.recordOnce({
      ...event,
      provider,
      payload: rawBody,
      receivedAt: now.toISOString(),
      expiresAt: unixSeconds(now) + deps.config.webhooks.ttlSeconds
    })
    deps.metrics.count(outcome === 'stored' ? MetricName.webhookAccepted : MetricName.webhookDuplicate, { provider })
    log.info({ eventId: event.eventId, type: event.type, paymentId: event.paymentId, outcome }, outcome === 'stored' ? 'webhook accepted' : 'duplicate webhook')
    return { received: true as const }
  })
}

async function verify (deps: WebhookRouteDeps, provider: WebhookProvider, request: FastifyRequest, rawBody: Buffer): Promise<void> {
  const secrets = await deps.webhookSecrets.current(provider)
  if (secrets.length === 0) throw new NotFoundError(`webhook provider ${provider} is not configured`)
  const check = (active: readonly string[]): void => {
    const common = { rawBody, secrets: active, now: deps.clock(), toleranceSeconds: deps.config.webhooks.toleranceSeconds }
    if (provider === 'stripe') {
      verifyStripeSignature({ ...common, header: header(request, 'stripe-signature') })
    } else {
      verifyStandardWebhook({ ...common, id: header(request, 'webhook-id'), timestamp: header(request, 'webhook-timestamp'), signature: header(request, 'webhook-signature') })
    }
  }
  try {
    check(secrets)
  } catch (error) {
    if (!(error instanceof WebhookSignatureError) || error.data.problem !== SignatureProblem.noMatchingSignature) throw error
    // The secret may have been rotated since we cached it: look again, at most once a minute.
    const refreshed = await deps.webhookSecrets.refreshAfterFailure(provider)
    if (refreshed === undefined) throw error
    check(refreshed)
  }
}

function header (request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name]
  return Array.isArray(value) ? value.join(',') : value
}
