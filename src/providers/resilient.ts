import CircuitBreaker from 'opossum'
import type { Logger } from 'pino'
import { fullJitter, retry } from '../lib/retry.js'
import { withoutLogContext } from '../observability/logger.js'
import { MetricName, type Metrics } from '../observability/metrics.js'
import { TransientProviderError, type ChargeRequest, type ChargeResult, type PaymentProvider } from './types.js'

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
export type ResilientCharge = (request: ChargeRequest, remainingTimeMs: () => number) => Promise<ChargeResult>

/** Time kept back from the invocation's deadline for the writes after the charge. */
const SAFETY_MARGIN_MS = 1_000

/** The shortest provider call worth making. */
const MIN_CALL_MS = 100

/**
 * Wraps a provider in a circuit breaker (opossum) with a per-call timeout, and retries
 * transient failures with exponential backoff and full jitter, never past the invocation's
 * remaining time. A decline is a result, not a failure: it neither trips the breaker nor is
 * retried. When it gives up, the last error is thrown so the message is redelivered by SQS.
 */
export function createResilientCharge (provider: PaymentProvider, options: ResilienceOptions, { logger, metrics, random = Math.random, stopSignal }: {
  logger: Logger
  metrics: Metrics
  random?: () => number
  /**
   * Aborted when the process stops taking work (local shutdown): calls in flight and retries
   * waiting end at once with a TransientProviderError, so the message goes back to the queue.
   */
  stopSignal?: AbortSignal
}): ResilientCharge & { breaker: CircuitBreaker } {
  const breaker = new CircuitBreaker(
    async (request: ChargeRequest, signal: AbortSignal) => untilAborted(provider.charge(request, { signal }), signal),
    {
      timeout: false, // enforced per call below, with an AbortSignal that really stops the call
      volumeThreshold: options.volumeThreshold,
      errorThresholdPercentage: options.errorThresholdPercentage,
      resetTimeout: options.resetTimeoutMs,
      rollingCountTimeout: 10_000
    }
  )
  breaker.on('open', () => {
    metrics.count(MetricName.circuitOpened, { provider: provider.name })
    logger.error({ provider: provider.name }, 'provider circuit opened')
  })
  // The breaker's state belongs to the process, not to the invocation whose call (or timer) moved it.
  breaker.on('halfOpen', () => { withoutLogContext(() => { logger.warn({ provider: provider.name }, 'provider circuit half-open: trying one call') }) })
  breaker.on('close', () => { withoutLogContext(() => { logger.info({ provider: provider.name }, 'provider circuit closed') }) })

  const stopped = (cause?: unknown) => new TransientProviderError('shutting down: the provider call was abandoned; the message goes back to the queue', { cause })
  const attempt = async (request: ChargeRequest, timeoutMs: number): Promise<ChargeResult> => {
    const timeout = AbortSignal.timeout(timeoutMs)
    const signal = stopSignal === undefined ? timeout : AbortSignal.any([timeout, stopSignal])
    try {
      return await breaker.fire(request, signal)
    } catch (error) {
      if (stopSignal?.aborted === true) throw stopped(error)
      // Open, or half-open with its one trial call already out: either way, not tried.
      if ((error as { code?: string }).code === 'EOPENBREAKER') throw new CircuitOpenError({ cause: error })
      if (signal.aborted) throw new TransientProviderError(`the provider did not answer within ${timeoutMs} ms`, { cause: error })
      if (error instanceof TransientProviderError) throw error
      throw new TransientProviderError(`the provider call failed: ${(error as Error).message}`, { cause: error })
    }
  }

  const backoff = fullJitter(options.backoffBaseMs, options.backoffCapMs, random)
  const charge: ResilientCharge = async (request, remainingTimeMs) => retry(async () => {
    // Every call, the first included, ends (or times out) before the invocation must.
    const timeoutMs = Math.min(options.timeoutMs, remainingTimeMs() - SAFETY_MARGIN_MS)
    if (stopSignal?.aborted === true) throw stopped()
    if (timeoutMs < MIN_CALL_MS) {
      throw new TransientProviderError('not enough of the invocation is left to call the provider; leaving the message for a retry')
    }
    return attempt(request, timeoutMs)
  }, {
    attempts: options.maxAttempts,
    delayMs: backoff,
    // An open breaker will not let the next try through either; nor is there a try after the deadline.
    shouldRetry: (error, next) => !(error instanceof CircuitOpenError) && remainingTimeMs() - SAFETY_MARGIN_MS >= next.delayMs + MIN_CALL_MS,
    onRetry: (error, next) => { logger.warn({ err: error, attempt: next.attempt - 1, retryInMs: next.delayMs, paymentId: request.paymentId }, 'provider call failed; retrying') },
    signal: stopSignal
  })
  return Object.assign(charge, { breaker })
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
