import type Stripe from 'stripe'
import { ProviderRequestError, TransientProviderError, type ChargeResult, type PaymentProvider } from './types.js'

/** How to reach Stripe: the key (or a function that fetches it), and the test-mode overrides. */
export interface StripeOptions {
  secretKey: () => Promise<string>
  /** The payment method to confirm with when the payment's metadata names none. */
  defaultPaymentMethod: string | undefined
  timeoutMs: number
  /** Host/port/protocol of a Stripe-compatible API, for tests; the real API when undefined. */
  apiBase?: { host: string, port: number, protocol: 'http' | 'https' }
}

/**
 * The Stripe provider: a PaymentIntent created and confirmed in one call, with the payment id
 * as Stripe's Idempotency-Key and in its metadata (so webhooks name our payment). The official
 * SDK is imported on the first charge only, so it costs nothing at cold start.
 */
export function createStripeProvider (options: StripeOptions): PaymentProvider {
  let client: Stripe | undefined
  const stripe = async (): Promise<Stripe> => {
    if (client !== undefined) return client
    const { default: StripeSdk } = await import('stripe')
    client = new StripeSdk(await options.secretKey(), {
      timeout: options.timeoutMs,
      maxNetworkRetries: 0, // retries are ours, with backoff and a breaker
      ...options.apiBase
    })
    return client
  }

  return {
    name: 'stripe',
    async charge (request): Promise<ChargeResult> {
      const sdk = await stripe()
      const paymentMethod = request.metadata?.stripePaymentMethod ?? options.defaultPaymentMethod
      try {
        const intent = await sdk.paymentIntents.create({
          amount: request.amount,
          currency: request.currency.toLowerCase(),
          confirm: true,
          ...(paymentMethod !== undefined && { payment_method: paymentMethod }),
          automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
          ...(request.description !== undefined && { description: request.description }),
          metadata: { paymentId: request.paymentId, customerId: request.customerId }
        }, { idempotencyKey: request.idempotencyKey })
        if (intent.status === 'succeeded') return { outcome: 'succeeded', providerRef: intent.id }
        // Asynchronous methods (SEPA, ACH) settle days later: the webhook decides, not us.
        if (intent.status === 'processing') return { outcome: 'processing', providerRef: intent.id }
        return { outcome: 'declined', providerRef: intent.id, reason: intent.last_payment_error?.code ?? `payment intent ${intent.status}` }
      } catch (error) {
        const type = (error as { type?: string }).type
        if (type === 'StripeCardError' || type === 'StripeInvalidRequestError') {
          const stripeError = error as { code?: string, message: string, payment_intent?: { id: string } }
          return { outcome: 'declined', ...(stripeError.payment_intent !== undefined && { providerRef: stripeError.payment_intent.id }), reason: stripeError.code ?? stripeError.message }
        }
        // About this request alone: the same key in use by a concurrent request (409), reused
        // with other parameters, or the object locked by another request (lock_timeout).
        const { statusCode, code } = error as { statusCode?: number, code?: string }
        if (type === 'StripeIdempotencyError' || statusCode === 409 || code === 'lock_timeout') {
          throw new ProviderRequestError(`stripe: ${(error as Error).message}`, { cause: error })
        }
        throw new TransientProviderError(`stripe: ${(error as Error).message}`, { cause: error })
      }
    }
  }
}
