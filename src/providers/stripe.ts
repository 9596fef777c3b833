import type Stripe from 'stripe'
import { toStripeAmount } from '../domain/stripe-amounts.js'
import {
  AUTHENTICATION_REQUIRED,
  ProviderConfigurationError,
  ProviderRequestError,
  TransientProviderError,
  type ChargeRequest,
  type ChargeResult,
  type PaymentProvider,
  type RefundRequest,
  type RefundResult
} from './types.js'

/** How to reach Stripe: the key (or a function that fetches it), and the test-mode overrides. */
export interface StripeOptions {
  secretKey: () => Promise<string>
  /** The payment method to confirm with when the payment names none. */
  defaultPaymentMethod: string | undefined
  timeoutMs: number
  /** How long a fetched key is used before it is fetched again (a rotated key is picked up within it). */
  keyMaxAgeMs: number
  /** Now, in milliseconds; Date.now by default. */
  now?: () => number
  /** Host/port/protocol of a Stripe-compatible API, for tests; the real API when undefined. */
  apiBase?: { host: string, port: number, protocol: 'http' | 'https' }
}

/** The fields of a Stripe error paylith reads (the SDK's StripeError). */
interface StripeErrorLike {
  type?: string
  statusCode?: number
  code?: string
  message: string
  payment_intent?: { id: string, status?: string }
}

/**
 * The Stripe provider. The PaymentIntent is created unconfirmed, with the payment id as Stripe's
 * Idempotency-Key and in its metadata (so webhooks name our payment); its id is stored on the
 * payment (`recordProviderRef`) before it is confirmed by id. A later attempt (after a timeout
 * or a 5xx, whose outcome is unclear) retrieves that intent and goes on from its status instead
 * of guessing; a create answered with a 5xx moves on to the payment's next idempotency key, as
 * Stripe would replay that answer to the same key. Off-session (`confirmation: automatic`, the default)
 * paylith confirms with `off_session: true`; an intent that then wants authentication is
 * cancelled and fails as `authentication_required`. On-session (`client`) it is not confirmed:
 * its client secret goes to the merchant's front end (Stripe.js), and the webhook settles it.
 * Refunds go through the Refunds API (`refunds.create` on the PaymentIntent) with the refund id
 * as Stripe's Idempotency-Key and in its metadata; one accepted but not settled (`pending`) is
 * read back by its id (`refunds.retrieve`) on the next attempt. A create answered with a 5xx
 * adopts the refund Stripe made for that refund id if there is one (`refunds.list` on the
 * intent), and only otherwise spends the key (`re_…/1`, …).
 * The official SDK is imported on the first call only, so it costs nothing at cold start.
 */
export function createStripeProvider (options: StripeOptions): PaymentProvider {
  const now = options.now ?? Date.now
  let cached: { client: Stripe, key: string, fetchedAt: number } | undefined
  /** The client for the current key: fetched again past its maximum age, or when asked to. */
  const stripe = async ({ refetch = false } = {}): Promise<Stripe> => {
    if (cached !== undefined && !refetch && now() - cached.fetchedAt < options.keyMaxAgeMs) return cached.client
    const key = (await options.secretKey()).trim()
    if (!STRIPE_KEY.test(key)) {
      cached = undefined
      throw new ProviderConfigurationError('stripe: the configured secret holds no Stripe key (expected sk_… or rk_…); set it (aws secretsmanager put-secret-value) and the next charge picks it up')
    }
    if (cached?.key === key) {
      cached.fetchedAt = now()
      return cached.client
    }
    const { default: StripeSdk } = await import('stripe')
    const client = new StripeSdk(key, {
      timeout: options.timeoutMs,
      maxNetworkRetries: 0, // retries are ours, with backoff and a breaker
      ...options.apiBase
    })
    cached = { client, key, fetchedAt: now() }
    return client
  }

  /** Goes on from where the intent is: confirm it, hand it to the browser, or read its outcome. */
  const advance = async (sdk: Stripe, request: ChargeRequest, intent: Stripe.PaymentIntent): Promise<ChargeResult> => {
    const onSession = request.confirmation === 'client'
    switch (intent.status) {
      case 'succeeded':
        return { outcome: 'succeeded', providerRef: intent.id }
      // Asynchronous methods (SEPA, ACH) settle days later: the webhook decides, not us.
      case 'processing':
      case 'requires_capture':
        return { outcome: 'processing', providerRef: intent.id }
      case 'canceled':
        return { outcome: 'declined', providerRef: intent.id, reason: intent.last_payment_error?.code ?? intent.cancellation_reason ?? 'canceled' }
      case 'requires_action':
        if (onSession) return requiresAction(intent)
        return cancelForAuthentication(sdk, intent.id)
      default:
        // requires_payment_method / requires_confirmation: not confirmed yet, or declined before.
        if (onSession) return requiresAction(intent)
        if (intent.last_payment_error != null) {
          const reason = intent.last_payment_error.code ?? intent.last_payment_error.message ?? 'declined'
          return reason === AUTHENTICATION_REQUIRED ? cancelForAuthentication(sdk, intent.id) : { outcome: 'declined', providerRef: intent.id, reason }
        }
        return confirm(sdk, request, intent.id)
    }
  }

  const confirm = async (sdk: Stripe, request: ChargeRequest, intentId: string): Promise<ChargeResult> => {
    const paymentMethod = request.providerPaymentMethod ?? options.defaultPaymentMethod
    try {
      // No idempotency key of ours: each attempt is new, and the retrieve before it is what
      // keeps a second confirm from happening (a PaymentIntent succeeds at most once anyway).
      const intent = await sdk.paymentIntents.confirm(intentId, {
        off_session: true,
        ...(paymentMethod !== undefined && { payment_method: paymentMethod })
      })
      return await advance(sdk, request, intent)
    } catch (error) {
      const stripeError = error as StripeErrorLike
      if (stripeError.type === 'StripeCardError') {
        if (stripeError.code === AUTHENTICATION_REQUIRED) return cancelForAuthentication(sdk, intentId)
        return { outcome: 'declined', providerRef: intentId, reason: stripeError.code ?? stripeError.message }
      }
      // The outcome is unclear (a 5xx, a dropped connection): look at the intent instead of guessing.
      if (unclear(stripeError) || stripeError.code === 'payment_intent_unexpected_state') {
        const intent = await call(async () => sdk.paymentIntents.retrieve(intentId))
        if (intent.status === 'requires_confirmation' || (intent.status === 'requires_payment_method' && intent.last_payment_error == null)) {
          throw new TransientProviderError(`stripe: confirming ${intentId} failed (${stripeError.message}); it is still unconfirmed`, { cause: error })
        }
        return advance(sdk, request, intent)
      }
      throw classify(error)
    }
  }

  const chargeWith = async (sdk: Stripe, request: ChargeRequest): Promise<ChargeResult> => {
    if (request.providerRef !== undefined) {
      return advance(sdk, request, await call(async () => sdk.paymentIntents.retrieve(request.providerRef as string)))
    }
    const paymentMethod = request.providerPaymentMethod ?? options.defaultPaymentMethod
    const onSession = request.confirmation === 'client'
    let amount: number
    try {
      amount = toStripeAmount(request.currency, request.amount)
    } catch (error) {
      throw new ProviderConfigurationError(`stripe: ${(error as Error).message}`, { cause: error })
    }
    const intent = await createIntent(request, async (idempotencyKey) => sdk.paymentIntents.create({
      amount,
      currency: request.currency.toLowerCase(),
      ...(request.providerCustomer !== undefined && { customer: request.providerCustomer }),
      // On-session the browser picks the method (Stripe.js), unless the merchant named one.
      ...(paymentMethod !== undefined && (!onSession || request.providerPaymentMethod !== undefined) && { payment_method: paymentMethod }),
      automatic_payment_methods: onSession ? { enabled: true } : { enabled: true, allow_redirects: 'never' },
      ...(request.description !== undefined && { description: request.description }),
      metadata: { paymentId: request.paymentId, customerId: request.customerId }
    }, { idempotencyKey }))
    await request.recordProviderRef?.(intent.id)
    return advance(sdk, request, intent)
  }

  const refundWith = async (sdk: Stripe, request: RefundRequest): Promise<RefundResult> => {
    // Accepted before and not settled then (its webhook may have been lost): read it back.
    if (request.refundRef !== undefined) return refundResult(await call(async () => sdk.refunds.retrieve(request.refundRef as string)))
    if (request.providerRef === undefined) throw new ProviderConfigurationError(`stripe: payment ${request.paymentId} has no PaymentIntent to refund`)
    let amount: number
    try {
      amount = toStripeAmount(request.currency, request.amount)
    } catch (error) {
      throw new ProviderConfigurationError(`stripe: ${(error as Error).message}`, { cause: error })
    }
    const params: Stripe.RefundCreateParams = {
      payment_intent: request.providerRef,
      amount,
      ...(request.reason !== undefined && STRIPE_REFUND_REASONS.has(request.reason) && { reason: request.reason as Stripe.RefundCreateParams.Reason }),
      // The refund id, whatever the key: how a refund made under a spent key is found again.
      metadata: { refundId: request.refundId, paymentId: request.paymentId }
    }
    try {
      return refundResult(await sdk.refunds.create(params, { idempotencyKey: request.idempotencyKey }))
    } catch (error) {
      // Stripe refuses the refund itself (already refunded, disputed): an answer, not an outage.
      const { type, code, statusCode } = error as StripeErrorLike
      if (type === 'StripeInvalidRequestError' && code !== undefined && REFUSED_REFUND_CODES.has(code)) return { outcome: 'failed', reason: code }
      if (statusCode !== undefined && statusCode >= 500) {
        // Stripe saves a 5xx for its key and replays it for 24 hours, but unlike an unconfirmed
        // intent, a refund create it answered so may have refunded: a new key could refund twice.
        // So first look for the refund it made for this refund id; only if there is none is the
        // key spent, and the next attempt creates with the next one.
        const made = await refundMadeFor(sdk, request.providerRef, request.refundId)
        if (made !== undefined) return refundResult(made)
        await request.retireIdempotencyKey?.()
      }
      throw classify(error)
    }
  }

  /** Runs a call with the current key; after an authentication error, once more with the key fetched again (it may have been rotated, or set at last). */
  const withKey = async <T>(run: (sdk: Stripe) => Promise<T>): Promise<T> => {
    try {
      return await run(await stripe())
    } catch (error) {
      if (!(error instanceof ProviderConfigurationError) || (error.cause as StripeErrorLike | undefined)?.type !== 'StripeAuthenticationError') throw error
      const before = cached?.key
      const sdk = await stripe({ refetch: true })
      if (cached?.key === before) throw error
      return run(sdk)
    }
  }

  return {
    name: 'stripe',
    charge: async (request) => withKey(async (sdk) => chargeWith(sdk, request)),
    refund: async (request) => withKey(async (sdk) => refundWith(sdk, request))
  }
}

/** The refund reasons Stripe takes; any other stays with paylith. */
const STRIPE_REFUND_REASONS: ReadonlySet<string> = new Set(['duplicate', 'fraudulent', 'requested_by_customer'])

/** Stripe error codes that refuse a refund for good (https://docs.stripe.com/error-codes). */
const REFUSED_REFUND_CODES: ReadonlySet<string> = new Set(['charge_already_refunded', 'charge_disputed', 'refund_disputed_payment'])

/**
 * The refund Stripe made on the PaymentIntent for paylith's refund `refundId` (by its
 * `metadata.refundId`), if any. The list endpoint reads what Stripe has now; the Search API
 * would not do: Stripe documents it as eventually consistent, not for read-after-write.
 * NOTE: https://docs.stripe.com/api/refunds/list
 */
async function refundMadeFor (sdk: Stripe, paymentIntent: string, refundId: string): Promise<Stripe.Refund | undefined> {
  return call(async () => {
    for await (const refund of sdk.refunds.list({ payment_intent: paymentIntent, limit: 100 })) {
      if (refund.metadata?.refundId === refundId) return refund
    }
    return undefined
  })
}

/** A Stripe Refund in paylith's terms: `pending` and `requires_action` are settled later by webhook. */
function refundResult (refund: Stripe.Refund): RefundResult {
  switch (refund.status) {
    case 'succeeded':
      return { outcome: 'succeeded', providerRef: refund.id }
    case 'failed':
    case 'canceled':
      return { outcome: 'failed', providerRef: refund.id, reason: refund.failure_reason ?? refund.status }
    default:
      return { outcome: 'pending', providerRef: refund.id }
  }
}

/** What a Stripe secret or restricted key looks like. */
const STRIPE_KEY = /^(sk|rk)_(test|live)_\w+$/

/** The on-session answer: the browser confirms with the client secret. */
function requiresAction (intent: Stripe.PaymentIntent): ChargeResult {
  if (intent.client_secret === null) throw new ProviderConfigurationError(`stripe: PaymentIntent ${intent.id} has no client_secret`)
  return { outcome: 'requires_action', providerRef: intent.id, clientSecret: intent.client_secret }
}

/** Off-session, the customer is not there to authenticate: cancel the intent, and say why it failed. */
async function cancelForAuthentication (sdk: Stripe, intentId: string): Promise<ChargeResult> {
  try {
    await sdk.paymentIntents.cancel(intentId, { cancellation_reason: 'abandoned' })
  } catch (error) {
    // Already canceled by an earlier attempt: that is what we wanted.
    if ((error as StripeErrorLike).code !== 'payment_intent_unexpected_state') throw classify(error)
  }
  return { outcome: 'declined', providerRef: intentId, reason: AUTHENTICATION_REQUIRED }
}

/**
 * Creates the PaymentIntent with the request's idempotency key. Stripe saves a 5xx answer for
 * the key and replays it to every retry for 24 hours, so a key that got one is spent: the next
 * key is recorded before the error goes up, and the next attempt creates with it. The spent
 * key's request may have created an intent; it stays unconfirmed (only a recorded intent is
 * ever confirmed), so it charges nothing. A timeout or a dropped connection got no answer to
 * save: the key is kept, and its retry returns the intent if one was made.
 */
async function createIntent (request: ChargeRequest, create: (idempotencyKey: string) => Promise<Stripe.PaymentIntent>): Promise<Stripe.PaymentIntent> {
  try {
    return await create(request.idempotencyKey)
  } catch (error) {
    const { statusCode } = error as StripeErrorLike
    if (statusCode !== undefined && statusCode >= 500) await request.retireIdempotencyKey?.()
    throw classify(error)
  }
}

/** A call to Stripe whose errors are classified for the resilient wrapper. */
async function call<T> (fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (error) {
    throw classify(error)
  }
}

/** A 5xx or a connection error: Stripe may or may not have acted on the request. */
function unclear (error: StripeErrorLike): boolean {
  return error.type === 'StripeAPIError' || error.type === 'StripeConnectionError' || (error.statusCode !== undefined && error.statusCode >= 500)
}

/**
 * What a Stripe error means for paylith: about this request alone (a concurrent request with the
 * same key, a lock: retried, not counted against the breaker), a configuration error or a bug
 * (a bad key, a refused parameter, an idempotency key reused with other parameters: alerted on,
 * kept retryable), or maybe an outage (everything else).
 */
function classify (error: unknown): Error {
  const { type, statusCode, code, message } = error as StripeErrorLike
  if (error instanceof TransientProviderError) return error
  if (statusCode === 409 && type !== 'StripeIdempotencyError') return new ProviderRequestError(`stripe: ${message}`, { cause: error })
  if (code === 'lock_timeout') return new ProviderRequestError(`stripe: ${message}`, { cause: error })
  if (type === 'StripeIdempotencyError' || type === 'StripeAuthenticationError' || type === 'StripePermissionError' || type === 'StripeInvalidRequestError' || type === 'StripeCardError') {
    return new ProviderConfigurationError(`stripe: ${type}${code === undefined ? '' : ` (${code})`}: ${message}`, { cause: error })
  }
  return new TransientProviderError(`stripe: ${message}`, { cause: error })
}
