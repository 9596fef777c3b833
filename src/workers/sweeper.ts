import type { Context, ScheduledEvent } from 'aws-lambda'
import type { Logger } from 'pino'
import { AttentionReason } from '../domain/payment.js'
import type { PaymentStore } from '../store/payments.js'
import { PROVIDER_KEY_WINDOW_MS } from './charge.js'
import { CommandType } from '../queue/commands.js'
import type { WorkQueue } from '../queue/work-queue.js'

/** One sweep, on a scheduled (EventBridge) event: how many were re-sent, how many need a person. */
export type Sweeper = (event: ScheduledEvent, context: Context) => Promise<{ resent: number, needAttention: number }>

/** How the sweeper decides a payment has stopped moving. */
export interface SweeperOptions {
  /** An unsettled payment older than this is sent its charge command again. */
  staleAfterMs: number
  /** At most this many re-sends per run. */
  maxPerRun: number
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
 * payment that was merely slow loses nothing. Payments older than the providers' idempotency
 * window are not re-sent (that could charge twice) but reported for a person to look at, and
 * say so themselves (`attention`) until they move again.
 */
export function createSweeper (deps: { payments: PaymentStore, workQueue: Pick<WorkQueue, 'send'>, clock: () => Date, logger: Logger }, options: SweeperOptions): Sweeper {
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

    // Re-send: only the window [23 h ago, stale], queried as such so older ones never crowd it out.
    let resent = 0
    for (const dayStart of [now - RESEND_WINDOW_MS, now]) {
      const inDay = await deps.payments.listUnsettled(day(dayStart), { from: resendAfter, to: staleBefore }, options.maxPerRun - resent)
      for (const entry of inDay) {
        if (!enoughTime()) break
        await deps.workQueue.send({ type: CommandType.charge, paymentId: entry.id })
        resent += 1
        deps.logger.warn({ paymentId: entry.id, createdAt: entry.createdAt }, 'sweeper: payment stopped moving; charge command sent again')
      }
      if (day(now - RESEND_WINDOW_MS) === day(now)) break
    }

    // Report: unsettled for longer than providers keep idempotency keys, never re-charged.
    let needAttention = 0
    for (let daysAgo = 0; daysAgo < LOOKBACK_DAYS && enoughTime(); daysAgo++) {
      const tooOld = await deps.payments.listUnsettled(day(now - daysAgo * DAY_MS), { from: '0', to: resendAfter }, REPORT_LIMIT - needAttention)
      for (const entry of tooOld) {
        deps.logger.error({ paymentId: entry.id, createdAt: entry.createdAt }, 'sweeper: payment unsettled for longer than the providers keep idempotency keys; needs a person')
        if (!entry.flagged) await deps.payments.flagAttention(entry, { reason: AttentionReason.unsettledTooLong, since: iso(now) })
      }
      needAttention += tooOld.length
    }
    if (outOfTime) {
      deps.logger.error({ resent, needAttention, budgetMs, marginMs }, 'sweeper: stopped before the end for lack of time; the next run goes on from there')
    } else if (resent > 0 || needAttention > 0) {
      deps.logger.info({ resent, needAttention }, 'sweep done')
    }
    return { resent, needAttention }
  }
}
