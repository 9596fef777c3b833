import type { SQSClient } from '@aws-sdk/client-sqs'
import type { Context, ScheduledEvent } from 'aws-lambda'
import type { Logger } from 'pino'
import type { PaymentStore } from '../store/payments.js'
import { CommandType, sendCommand } from './commands.js'

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
const RESEND_WINDOW_MS = 23 * 3_600_000
/** How far back unsettled payments are looked for and reported. */
const LOOKBACK_DAYS = 7

/**
 * The safety net under the outbox: a payment still pending or processing long after it was
 * created (its charge command never sent because the stream relay gave up, or dead-lettered
 * through a provider outage) is sent its `charge` command again. Charging is idempotent, so a
 * payment that was merely slow loses nothing. Payments older than the providers' idempotency
 * window are not re-sent (that could charge twice) but reported for a person to look at.
 */
export function createSweeper (deps: { payments: PaymentStore, sqs: SQSClient, workQueueUrl: string, clock: () => Date, logger: Logger }, options: SweeperOptions): Sweeper {
  return async () => {
    const now = deps.clock().getTime()
    const staleBefore = new Date(now - options.staleAfterMs).toISOString()
    const resendAfter = new Date(now - RESEND_WINDOW_MS).toISOString()
    let resent = 0
    let needAttention = 0
    for (let daysAgo = 0; daysAgo < LOOKBACK_DAYS && resent < options.maxPerRun; daysAgo++) {
      const day = new Date(now - daysAgo * DAY_MS).toISOString().slice(0, 10)
      for (const entry of await deps.payments.listUnsettled(day, staleBefore, options.maxPerRun - resent)) {
        if (entry.createdAt < resendAfter) {
          needAttention += 1
          deps.logger.error({ paymentId: entry.id, createdAt: entry.createdAt }, 'sweeper: payment unsettled for longer than the providers keep idempotency keys; needs a person')
          continue
        }
        await sendCommand(deps.sqs, deps.workQueueUrl, { type: CommandType.charge, paymentId: entry.id })
        resent += 1
        deps.logger.warn({ paymentId: entry.id, createdAt: entry.createdAt }, 'sweeper: payment stopped moving; charge command sent again')
      }
    }
    if (resent > 0 || needAttention > 0) deps.logger.info({ resent, needAttention }, 'sweep done')
    return { resent, needAttention }
  }
}
