import type { Context, ScheduledEvent } from 'aws-lambda'
import type { Logger } from 'pino'
import { AttentionReason, type PaymentAttention } from '../domain/payment.js'
import { MetricName, type Metrics } from '../observability/metrics.js'
import type { PaymentStore, UnsettledEntry } from '../store/payments.js'
import { PROVIDER_KEY_WINDOW_MS } from './charge.js'
import { CommandType } from '../queue/commands.js'
import type { WorkQueue } from '../queue/work-queue.js'

/**
 * One sweep, on a scheduled (EventBridge) event: how many charges were re-sent, how many
 * payments it gave up re-sending this time, how many are too old to re-send (reported).
 */
export type Sweeper = (event: ScheduledEvent, context: Context) => Promise<{ resent: number, gaveUp: number, needAttention: number }>

/** How the sweeper decides a payment has stopped moving. */
export interface SweeperOptions {
  /** An unsettled payment older than this is sent its charge command again; the n-th re-send waits this × 2ⁿ⁻¹ after the one before. */
  staleAfterMs: number
  /** At most this many re-sends per run. */
  maxPerRun: number
  /** At most this many re-sends per payment; when the next falls due, it is flagged `resends-exhausted` instead. */
  maxResends: number
  /**
   * Replaces charge commands a restart lost (the local runtime, at boot): re-sends every unsettled
   * payment the sweeper has not given up on, due or not, without counting it as a re-send.
   */
  recovery?: boolean
}

/** When the re-send after the `count`-th may go: `staleAfterMs × 2ᶜᵒᵘⁿᵗ` after it. */
export function nextResendAt (sentAt: number, count: number, staleAfterMs: number): string {
  return new Date(sentAt + staleAfterMs * 2 ** count).toISOString()
}

const DAY_MS = 86_400_000
/** Only payments this young are re-sent: providers keep idempotency keys for 24 hours. */
const RESEND_WINDOW_MS = PROVIDER_KEY_WINDOW_MS
/** How far back unsettled payments are looked for and reported. */
const LOOKBACK_DAYS = 7
/** At most this many too-old payments are reported per run. */
const REPORT_LIMIT = 100
/** Time kept back from the invocation's deadline: the sweep stops early rather than time out. */
const TIME_MARGIN_MS = 5_000
/** At most this share of the invocation's time is kept back, so a short invocation still sweeps. */
const TIME_MARGIN_SHARE = 0.2

/**
 * The safety net under the outbox: a payment still pending or processing long after it was
 * created (its charge command never sent because the stream relay gave up, or dead-lettered
 * through a provider outage) is sent its `charge` command again. Charging is idempotent, so a
 * payment that was merely slow loses nothing. It backs off: a payment is re-sent at most
 * `maxResends` times, each interval twice the one before, the count and the next due time kept
 * on the payment item (a conditional write per re-send, made before the send, so two
 * overlapping sweeps never both send; a send that fails after it costs that re-send). Once they
 * are spent the payment says it needs a person (`resends-exhausted`) instead of producing a new
 * dead letter on every sweep. Payments older than the providers' idempotency window are not
 * re-sent (that could charge twice) but reported for a person to look at, and say so themselves
 * (`attention`) until they move again.
 */
export function createSweeper (deps: { payments: PaymentStore, workQueue: Pick<WorkQueue, 'send'>, clock: () => Date, logger: Logger, metrics: Metrics }, options: SweeperOptions): Sweeper {
  return async (_event, context) => {
    const now = deps.clock().getTime()
    const iso = (ms: number) => new Date(ms).toISOString()
    const day = (ms: number) => iso(ms).slice(0, 10)
    const staleBefore = iso(now - options.staleAfterMs)
    const resendAfter = iso(now - RESEND_WINDOW_MS)
    const budgetMs = context.getRemainingTimeInMillis()
    const marginMs = Math.min(TIME_MARGIN_MS, budgetMs * TIME_MARGIN_SHARE)
    let outOfTime = false
    const enoughTime = () => {
      outOfTime = context.getRemainingTimeInMillis() <= marginMs
      return !outOfTime
    }

    const giveUp = async (entry: UnsettledEntry): Promise<boolean> => {
      const attention: PaymentAttention = { reason: AttentionReason.resendsExhausted, since: iso(now), ...(entry.attention?.deadLetterId !== undefined && { deadLetterId: entry.attention.deadLetterId }) }
      if (!await deps.payments.flagResendsExhausted(entry, attention)) return false
      deps.metrics.count(MetricName.paymentsNeedAttention, { reason: AttentionReason.resendsExhausted })
      deps.logger.error({ paymentId: entry.id, createdAt: entry.createdAt, resends: entry.resends }, 'sweeper: charge re-sent as often as allowed and the payment still has not moved; not re-sending it again, it needs a person')
      return true
    }
    // Claims the re-send on the payment item first: of two overlapping sweeps, only one sends.
    const claimResend = async (entry: UnsettledEntry): Promise<boolean> => options.recovery === true ||
      deps.payments.recordResend(entry, { count: entry.resends + 1, nextAt: nextResendAt(now, entry.resends + 1, options.staleAfterMs) })

    // Re-send: only the window [23 h ago, stale], queried as such so older ones never crowd it out;
    // the index query itself leaves out payments not due yet and those already given up on.
    const filter = options.recovery === true ? {} : { dueBy: iso(now) }
    let resent = 0
    let gaveUp = 0
    for (const dayStart of [now - RESEND_WINDOW_MS, now]) {
      const inDay = await deps.payments.listUnsettled(day(dayStart), { from: resendAfter, to: staleBefore }, options.maxPerRun - resent, filter)
      for (const entry of inDay) {
        if (!enoughTime()) break
        // Recovery replaces lost messages: it neither counts nor gives up (the listing leaves out those given up on).
        if (options.recovery !== true && entry.resends >= options.maxResends) {
          if (await giveUp(entry)) gaveUp += 1
          continue
        }
        if (!await claimResend(entry)) continue
        await deps.workQueue.send({ type: CommandType.charge, paymentId: entry.id })
        resent += 1
        deps.metrics.count(MetricName.chargesResent)
        deps.logger.warn({ paymentId: entry.id, createdAt: entry.createdAt, resends: options.recovery === true ? entry.resends : entry.resends + 1 }, 'sweeper: payment stopped moving; charge command sent again')
      }
      if (day(now - RESEND_WINDOW_MS) === day(now)) break
    }

    // Report: unsettled for longer than providers keep idempotency keys, never re-charged.
    let needAttention = 0
    for (let daysAgo = 0; daysAgo < LOOKBACK_DAYS && enoughTime(); daysAgo++) {
      const tooOld = await deps.payments.listUnsettled(day(now - daysAgo * DAY_MS), { from: '0', to: resendAfter }, REPORT_LIMIT - needAttention)
      for (const entry of tooOld) {
        deps.logger.error({ paymentId: entry.id, createdAt: entry.createdAt }, 'sweeper: payment unsettled for longer than the providers keep idempotency keys; needs a person')
        if (!entry.flagged && await deps.payments.flagAttention(entry, { reason: AttentionReason.unsettledTooLong, since: iso(now) })) {
          deps.metrics.count(MetricName.paymentsNeedAttention, { reason: AttentionReason.unsettledTooLong })
        }
      }
      needAttention += tooOld.length
    }
    if (outOfTime) {
      deps.logger.error({ resent, gaveUp, needAttention, budgetMs, marginMs }, 'sweeper: stopped before the end for lack of time; the next run goes on from there')
    } else if (resent > 0 || gaveUp > 0 || needAttention > 0) {
      deps.logger.info({ resent, gaveUp, needAttention }, 'sweep done')
    }
    return { resent, gaveUp, needAttention }
  }
}
