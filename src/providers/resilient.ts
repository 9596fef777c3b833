import CircuitBreaker from 'opossum'
import type { Logger } from 'pino'
import type { Config } from '../config/load.js'
import { fullJitter, retry } from '../lib/retry.js'
import { withoutLogContext } from '../observability/logger.js'
import { MetricName, type Metrics } from '../observability/metrics.js'
import { createFailureMemory, failureScope, FailureScope } from './failure-scope.js'
import { ProviderConfigurationError, ProviderRequestError, TransientProviderError, type ChargeRequest, type ChargeResult, type PaymentProvider, type RefundRequest, type RefundResult } from './types.js'

/** How hard to try a provider before giving the message back to SQS. */
export interface ResilienceOptions {
  /** Each call's time limit. */
  timeoutMs: number
  /** Calls per charge, the first included. */
  maxAttempts: number
  /** Backoff base and cap: the n-th retry waits a random time in [0, min(cap, base × 2ⁿ)). */
  backoffBaseMs: number
  backoffCapMs: number
  /** Calls the breaker must have seen in its window before it may open. */
  volumeThreshold: number
  /** Failure percentage (of those calls) that opens it. */
  errorThresholdPercentage: number
  /** How long it stays open before letting one trial call through. */
  resetTimeoutMs: number
}

/** The breaker is open: the provider is failing, so the call was not even tried. */
export class CircuitOpenError extends TransientProviderError {
  constructor (options?: ErrorOptions) {
    super('the provider circuit is open; not calling it until it recovers', options)
    this.name = 'CircuitOpenError'
  }
}

/** A provider call that gives up within the time the invocation has left. */
export type ResilientCharge = ((request: ChargeRequest, remainingTimeMs: () => number) => Promise<ChargeResult>) & {
  /** A refund, behind the same breaker, timeouts and retries (its failures remembered by refund id). */
  refund: (request: RefundRequest, remainingTimeMs: () => number) => Promise<RefundResult>
  breaker: CircuitBreaker
  /** How long until the open breaker lets a trial call through: 0 unless it is open. */
  retryAfterMs: () => number
  /** The wrapped provider's name. */
  providerName: string
}

/** One call to the provider: what its failures are remembered by (the payment, or the refund), and the call itself. */
interface ProviderCall {
  key: string
  paymentId: string
  run: (signal: AbortSignal) => Promise<ChargeResult | RefundResult>
}

/** Time kept back from the invocation's deadline for the writes after the charge. */
const SAFETY_MARGIN_MS = 1_000

/** The shortest provider call worth making. */
const MIN_CALL_MS = 100

/** How long a payment's failure is remembered (covers SQS redeliveries and deferrals). */
const FAILURE_MEMORY_TTL_MS = 15 * 60_000

/** Payments remembered at most; past it the oldest is forgotten (it may count once more). */
const FAILURE_MEMORY_CAPACITY = 10_000

/**
 * Wraps a provider's charges and refunds in one circuit breaker (opossum) with a per-call timeout, and retries
 * transient failures with exponential backoff and full jitter, never past the invocation's
 * remaining time. A decline is a result, not a failure: it neither trips the breaker nor is
 * retried. When it gives up, the last error is thrown so the message is redelivered by SQS.
 * The breaker sees one event per charge, its retries inside: a charge a retry rescues is a
 * success. It counts only the failures that may be the provider's (see failureScope):
 * - a ProviderRequestError is left out by opossum's `errorFilter` (which records it as a
 *   success: the provider did answer);
 * - a payment that failed within FAILURE_MEMORY_TTL_MS of its last failure is charged past
 *   the closed breaker, neither failure nor success in its statistics, so its redeliveries can
 *   neither keep the breaker open nor water down an outage's failure rate.
 * Once the breaker is not closed the charges go through it: open, none is tried; half-open, the
 * one trial call counts whoever it is for (in an outage every waiting payment has failed once),
 * except a payment that has failed again while the breaker was closed: that one is its own
 * problem, so it never is the trial (it waits, CircuitOpenError) and cannot reopen the breaker.
 */
export function createResilientCharge (provider: PaymentProvider, options: ResilienceOptions, { logger, metrics, random = Math.random, now = Date.now, stopSignal }: {
  logger: Logger
  metrics: Metrics
  random?: () => number
  now?: () => number
  /**
   * Aborted when the process stops taking work (local shutdown): calls in flight and retries
   * waiting end at once with a TransientProviderError, so the message goes back to the queue.
   */
  stopSignal?: AbortSignal
}): ResilientCharge {
  const failed = createFailureMemory({ ttlMs: FAILURE_MEMORY_TTL_MS, capacity: FAILURE_MEMORY_CAPACITY })
  let reopensAt = 0
  const backoff = fullJitter(options.backoffBaseMs, options.backoffCapMs, random)

  const stopped = (cause?: unknown) => new TransientProviderError('shutting down: the provider call was abandoned; the message goes back to the queue', { cause })
  const attempt = async (call: ProviderCall, timeoutMs: number): Promise<ChargeResult | RefundResult> => {
    const timeout = AbortSignal.timeout(timeoutMs)
    const signal = stopSignal === undefined ? timeout : AbortSignal.any([timeout, stopSignal])
    try {
      return await untilAborted(call.run(signal), signal)
    } catch (error) {
      if (stopSignal?.aborted === true) throw stopped(error)
      if (signal.aborted) throw new TransientProviderError(`the provider did not answer within ${timeoutMs} ms`, { cause: error })
      if (error instanceof TransientProviderError) throw error
      throw new TransientProviderError(`the provider call failed: ${(error as Error).message}`, { cause: error })
    }
  }

  const callWithRetries = async (call: ProviderCall, remainingTimeMs: () => number): Promise<ChargeResult | RefundResult> => retry(async (n) => {
    // Every call, the first included, ends (or times out) before the invocation must.
    const timeoutMs = Math.min(options.timeoutMs, remainingTimeMs() - SAFETY_MARGIN_MS)
    if (stopSignal?.aborted === true) throw stopped()
    if (n > 1 && timeoutMs < MIN_CALL_MS) throw new TransientProviderError('not enough of the invocation is left to call the provider again')
    return attempt(call, timeoutMs)
  }, {
    attempts: options.maxAttempts,
    delayMs: backoff,
    // No retry once the breaker opened for everyone (another charge's doing), nor after the
    // deadline, nor of a configuration error (the same call fails the same way until fixed).
    shouldRetry: (error, next) => !(error instanceof ProviderConfigurationError) && !breaker.opened && remainingTimeMs() - SAFETY_MARGIN_MS >= next.delayMs + MIN_CALL_MS,
    onRetry: (error, next) => { logger.warn({ err: error, attempt: next.attempt - 1, retryInMs: next.delayMs, paymentId: call.paymentId, ...(call.key !== call.paymentId && { refundId: call.key }) }, 'provider call failed; retrying') },
    signal: stopSignal
  })

  const breaker: CircuitBreaker<[ProviderCall, () => number], ChargeResult | RefundResult> = new CircuitBreaker(callWithRetries, {
    timeout: false, // enforced per call, with an AbortSignal that really stops the call
    volumeThreshold: options.volumeThreshold,
    errorThresholdPercentage: options.errorThresholdPercentage,
    resetTimeout: options.resetTimeoutMs,
    rollingCountTimeout: 10_000,
    // opossum calls it with the error, then fire's arguments (lib/circuit.js, handleError).
    errorFilter: (error: unknown, ...[call]: unknown[]): boolean =>
      failureScope(error, { repeated: failed.failures((call as ProviderCall).key, now()) > 0, trial: breaker.halfOpen }) !== FailureScope.provider
  })
  // A counted failure: the next ones of this payment (or refund) are its own. 'failure' comes before 'open'.
  breaker.on('failure', (_error, _latency, [call]) => { failed.remember(call.key, now()) })
  breaker.on('open', () => {
    reopensAt = now() + options.resetTimeoutMs
    metrics.count(MetricName.circuitOpened, { provider: provider.name })
    logger.error({ provider: provider.name }, 'provider circuit opened')
  })
  // The breaker's state belongs to the process, not to the invocation whose call (or timer) moved it.
  breaker.on('halfOpen', () => { withoutLogContext(() => { logger.warn({ provider: provider.name }, 'provider circuit half-open: trying one call') }) })
  breaker.on('close', () => { withoutLogContext(() => { logger.info({ provider: provider.name }, 'provider circuit closed') }) })

  const guarded = async (call: ProviderCall, remainingTimeMs: () => number): Promise<ChargeResult | RefundResult> => {
    if (remainingTimeMs() - SAFETY_MARGIN_MS < MIN_CALL_MS) {
      throw new TransientProviderError('not enough of the invocation is left to call the provider; leaving the message for a retry')
    }
    const failures = failed.failures(call.key, now())
    if (failures > 0 && breaker.closed) {
      try {
        return await callWithRetries(call, remainingTimeMs)
      } catch (error) {
        // Failing again while the provider is not known to be down: this payment's (or refund's) own problem.
        if (!(error instanceof ProviderRequestError)) failed.remember(call.key, now())
        throw error
      }
    }
    if (failures > 1) throw new CircuitOpenError()
    try {
      return await breaker.fire(call, remainingTimeMs)
    } catch (error) {
      // Open, or half-open with its one trial call already out: either way, not tried.
      if ((error as { code?: string }).code === 'EOPENBREAKER') throw new CircuitOpenError({ cause: error })
      throw error
    }
  }
  const charge = async (request: ChargeRequest, remainingTimeMs: () => number): Promise<ChargeResult> =>
    await guarded({ key: request.paymentId, paymentId: request.paymentId, run: async (signal) => provider.charge(request, { signal }) }, remainingTimeMs) as ChargeResult
  const refund = async (request: RefundRequest, remainingTimeMs: () => number): Promise<RefundResult> =>
    await guarded({ key: request.refundId, paymentId: request.paymentId, run: async (signal) => provider.refund(request, { signal }) }, remainingTimeMs) as RefundResult
  const retryAfterMs = (): number => breaker.opened ? Math.max(0, reopensAt - now()) : 0
  return Object.assign(charge, { refund, breaker, retryAfterMs, providerName: provider.name })
}

/**
 * The configured provider behind the process's one breaker, with the configured timeouts and
 * retries. The workers build it when they load (only they call the provider, so opossum is not on
 * an API cold start's path), once per process: the charge and refund handlers share it.
 */
export function resilientChargeFor ({ provider, config, logger, metrics, stopSignal }: {
  provider: PaymentProvider
  config: Pick<Config, 'provider'>
  logger: Logger
  metrics: Metrics
  /** Aborted when the local runtime shuts down (see createResilientCharge). */
  stopSignal?: AbortSignal
}): ResilientCharge {
  const { timeoutMs, maxAttempts, backoffBaseMs, backoffCapMs, breaker } = config.provider
  return createResilientCharge(provider, { timeoutMs, maxAttempts, backoffBaseMs, backoffCapMs, ...breaker }, { logger, metrics, ...(stopSignal !== undefined && { stopSignal }) })
}

/** Settles with `promise`, or rejects as soon as `signal` aborts, whichever comes first. */
async function untilAborted<T> (promise: Promise<T>, signal: AbortSignal): Promise<T> {
  let onAbort: (() => void) | undefined
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => { reject(signal.reason) }
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([promise, aborted])
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort)
    promise.catch(() => {})
  }
}
