import type { Context, ScheduledEvent } from 'aws-lambda'
import type { Logger } from 'pino'
import { AttentionReason, type PaymentAttention, type PaymentResends } from '../domain/payment.js'
import { MetricName, type Metrics } from '../observability/metrics.js'
import type { PaymentStore } from '../store/payments.js'
import type { RefundStore, UnsettledRefund } from '../store/refunds.js'
import type { ResendFilter, UnsettledEntry } from '../store/unsettled.js'
import { PROVIDER_KEY_WINDOW_MS } from './charge.js'
import { CommandType } from '../queue/commands.js'
import type { WorkQueue } from '../queue/work-queue.js'

/**
 * One sweep, on a scheduled (EventBridge) event: how many commands (charges, or refunds) were
 * re-sent, how many items it gave up re-sending this time, how many are too old to re-send (reported).
 */
export type Sweeper = (event: ScheduledEvent, context: Context) => Promise<{ resent: number, gaveUp: number, needAttention: number }>

/** How the sweeper decides a payment (or a refund) has stopped moving. */
export interface SweeperOptions {
  /** An unsettled payment (or refund) older than this is sent its command again; the n-th re-send waits this × 2ⁿ⁻¹ after the one before. */
  staleAfterMs: number
  /** At most this many re-sends per run. */
  maxPerRun: number
  /** At most this many re-sends per payment (or refund); when the next falls due, it is flagged `resends-exhausted` instead. */
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

/** What one sweep goes over: the unsettled items of one kind in the sweeper's index, and what re-sending one means. */
interface SweepTarget<E extends UnsettledEntry> {
  /** What the item is, and the command re-sent for it, as log lines say them: `payment` / `charge`, `refund` / `refund`. */
  noun: string
  command: string
  /** Where its unsettled items are listed and their re-sends and attention recorded (the payment or the refund store). */
  store: {
    listUnsettled: (day: string, range: { from: string, to: string }, limit: number, filter?: ResendFilter) => Promise<E[]>
    recordResend: (entry: E, resends: PaymentResends) => Promise<boolean>
    flagResendsExhausted: (entry: E, attention: PaymentAttention) => Promise<boolean>
    flagAttention: (entry: E, attention: PaymentAttention) => Promise<boolean>
  }
  /** Sends its command again. */
  send: (entry: E) => Promise<void>
  /** Counted once per re-send. */
  resentMetric: MetricName
  /** Counted once per item newly flagged (dimension `reason`). */
  attentionMetric: MetricName
  /** Its ids, as log lines carry them. */
  ids: (entry: E) => Record<string, string>
}

/** What a sweep needs besides its target. */
interface SweepDeps {
  clock: () => Date
  logger: Logger
  metrics: Metrics
}

/**
 * One sweep of one kind of unsettled item (the loop the payment and refund sweepers share): an
 * item unsettled `staleAfterMs` after it was created is sent its command again, at most
 * `maxResends` times, each interval twice the one before, the count and the next due time kept
 * on the item (a conditional write per re-send, made before the send, so two overlapping sweeps
 * never both send; a send that fails after it costs that re-send). Once they are spent the item
 * says it needs a person (`resends-exhausted`). Items older than the providers' idempotency
 * window are never re-sent (that could charge or refund twice) but reported (`unsettled-too-long`).
 */
function createSweep<E extends UnsettledEntry> (deps: SweepDeps, target: SweepTarget<E>, options: SweeperOptions): Sweeper {
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

    const giveUp = async (entry: E): Promise<boolean> => {
      const attention: PaymentAttention = { reason: AttentionReason.resendsExhausted, since: iso(now), ...(entry.attention?.deadLetterId !== undefined && { deadLetterId: entry.attention.deadLetterId }) }
      if (!await target.store.flagResendsExhausted(entry, attention)) return false
      deps.metrics.count(target.attentionMetric, { reason: AttentionReason.resendsExhausted })
      deps.logger.error({ ...target.ids(entry), createdAt: entry.createdAt, resends: entry.resends }, `sweeper: ${target.command} re-sent as often as allowed and the ${target.noun} still has not moved; not re-sending it again, it needs a person`)
      return true
    }
    // Claims the re-send on the item first: of two overlapping sweeps, only one sends.
    const claimResend = async (entry: E): Promise<boolean> => options.recovery === true ||
      target.store.recordResend(entry, { count: entry.resends + 1, nextAt: nextResendAt(now, entry.resends + 1, options.staleAfterMs) })

    // Re-send: only the window [23 h ago, stale], queried as such so older ones never crowd it out;
    // the index query itself leaves out items not due yet and those already given up on.
    const filter = options.recovery === true ? {} : { dueBy: iso(now) }
    let resent = 0
    let gaveUp = 0
    for (const dayStart of [now - RESEND_WINDOW_MS, now]) {
      const inDay = await target.store.listUnsettled(day(dayStart), { from: resendAfter, to: staleBefore }, options.maxPerRun - resent, filter)
      for (const entry of inDay) {
        if (!enoughTime()) break
        // Recovery replaces lost messages: it neither counts nor gives up (the listing leaves out those given up on).
        if (options.recovery !== true && entry.resends >= options.maxResends) {
          if (await giveUp(entry)) gaveUp += 1
          continue
        }
        if (!await claimResend(entry)) continue
        await target.send(entry)
        resent += 1
        deps.metrics.count(target.resentMetric)
        deps.logger.warn({ ...target.ids(entry), createdAt: entry.createdAt, resends: options.recovery === true ? entry.resends : entry.resends + 1 }, `sweeper: ${target.noun} stopped moving; ${target.command} command sent again`)
      }
      if (day(now - RESEND_WINDOW_MS) === day(now)) break
    }

    // Report: unsettled for longer than providers keep idempotency keys, never sent again.
    let needAttention = 0
    for (let daysAgo = 0; daysAgo < LOOKBACK_DAYS && enoughTime(); daysAgo++) {
      const tooOld = await target.store.listUnsettled(day(now - daysAgo * DAY_MS), { from: '0', to: resendAfter }, REPORT_LIMIT - needAttention)
      for (const entry of tooOld) {
        deps.logger.error({ ...target.ids(entry), createdAt: entry.createdAt }, `sweeper: ${target.noun} unsettled for longer than the providers keep idempotency keys; needs a person`)
        if (!entry.flagged && await target.store.flagAttention(entry, { reason: AttentionReason.unsettledTooLong, since: iso(now) })) {
          deps.metrics.count(target.attentionMetric, { reason: AttentionReason.unsettledTooLong })
        }
      }
      needAttention += tooOld.length
    }
    if (outOfTime) {
      deps.logger.error({ resent, gaveUp, needAttention, budgetMs, marginMs }, `sweeper: stopped before the end for lack of time (${target.noun}s); the next run goes on from there`)
    } else if (resent > 0 || gaveUp > 0 || needAttention > 0) {
      deps.logger.info({ resent, gaveUp, needAttention }, `sweep done (${target.noun}s)`)
    }
    return { resent, gaveUp, needAttention }
  }
}

/**
 * The safety net under the outbox: a payment still pending or processing long after it was
 * created (its charge command never sent because the stream relay gave up, or dead-lettered
 * through a provider outage) is sent its `charge` command again (createSweep says how often and
 * for how long). Charging is idempotent, so a payment that was merely slow loses nothing. Once
 * the re-sends are spent the payment says it needs a person (`resends-exhausted`) instead of
 * producing a new dead letter on every sweep; payments older than the providers' idempotency
 * window are not re-sent (that could charge twice) but reported for a person to look at, and say
 * so themselves (`attention`) until they move again.
 */
export function createSweeper (deps: SweepDeps & { payments: PaymentStore, workQueue: Pick<WorkQueue, 'send'> }, options: SweeperOptions): Sweeper {
  return createSweep(deps, {
    noun: 'payment',
    command: CommandType.charge,
    store: deps.payments,
    send: async (entry) => deps.workQueue.send({ type: CommandType.charge, paymentId: entry.id }),
    resentMetric: MetricName.chargesResent,
    attentionMetric: MetricName.paymentsNeedAttention,
    ids: (entry) => ({ paymentId: entry.id })
  }, options)
}

/**
 * The same safety net for refunds: a refund still pending long after it was created (its relay
 * lost, its command dead-lettered, or accepted by the provider and its webhook never come) is
 * sent its `refund` command again, with the same backoff, cap, claim and report. The provider's
 * idempotency key is the refund id, so a re-send within its window never refunds twice; a refund
 * the provider already accepted (a `providerRef`) is read back from the provider, not created
 * again, so a re-send also ends one whose webhook was lost. Counted as `RefundsResent` and
 * `RefundsNeedAttention`.
 */
export function createRefundSweeper (deps: SweepDeps & { refunds: Pick<RefundStore, 'listUnsettled' | 'recordResend' | 'flagResendsExhausted' | 'flagAttention'>, workQueue: Pick<WorkQueue, 'send'> }, options: SweeperOptions): Sweeper {
  return createSweep<UnsettledRefund>(deps, {
    noun: 'refund',
    command: CommandType.refund,
    store: deps.refunds,
    send: async (entry) => deps.workQueue.send({ type: CommandType.refund, paymentId: entry.paymentId, refundId: entry.id }),
    resentMetric: MetricName.refundsResent,
    attentionMetric: MetricName.refundsNeedAttention,
    ids: (entry) => ({ paymentId: entry.paymentId, refundId: entry.id })
  }, options)
}
