import type { Context, ScheduledEvent } from 'aws-lambda'
import type { Logger } from 'pino'
import { MetricName, type Metrics } from '../observability/metrics.js'
import { CommandType, correlationIdOf } from '../queue/commands.js'
import type { WorkQueue } from '../queue/work-queue.js'
import type { WebhookStore } from '../store/webhooks.js'

/** One run of the webhook safety net: how many apply-webhook commands it re-sent, and how many events it stopped waiting for. */
export type WebhookSafetyNet = (event: ScheduledEvent, context: Context) => Promise<{ webhooksResent: number, webhooksGivenUp: number }>

/** When a stored webhook event counts as never applied, and how much one run does. */
export interface WebhookSafetyNetOptions {
  /** An event stored (or last re-sent) longer ago than this and still not applied is re-sent. */
  staleAfterMs: number
  /** At most this many events per run. */
  maxPerRun: number
  /** At most this many re-sends per event; then it leaves the index, logged for a person. */
  maxResends: number
}

/**
 * The safety net under the webhook outbox: a stored event still not applied long after it was
 * stored (its apply-webhook relay discarded with a stream batch, or its command lost) is sent
 * its apply-webhook command again. Applying is idempotent (a payment never moves backwards),
 * so an event that was merely slow loses nothing. Each re-send is claimed on the event item
 * first (a conditional write moving it to the back of the index), so overlapping runs never
 * both send; it is re-sent every `staleAfterMs` at most `maxResends` times, then taken out of
 * the index with an error line and a `WebhooksGivenUp` count, which alarms: its commands have
 * most likely dead-lettered by then (and each dead letter alerts too), but one that was lost
 * would otherwise go unheard. An event whose command dead-lettered naming no known payment is
 * taken out of the index by the dead-letter worker, so it is never re-sent into more.
 */
export function createWebhookSafetyNet (deps: { webhooks: WebhookStore, workQueue: Pick<WorkQueue, 'send'>, clock: () => Date, logger: Logger, metrics: Pick<Metrics, 'count'> }, options: WebhookSafetyNetOptions): WebhookSafetyNet {
  return async () => {
    const now = deps.clock()
    const before = new Date(now.getTime() - options.staleAfterMs).toISOString()
    let webhooksResent = 0
    let webhooksGivenUp = 0
    for (const entry of await deps.webhooks.listUnapplied(before, options.maxPerRun)) {
      const { provider, eventId, paymentId } = entry
      if (entry.resends >= options.maxResends) {
        if (await deps.webhooks.giveUp(entry, now)) {
          webhooksGivenUp += 1
          deps.logger.error({ provider, eventId, paymentId, resends: entry.resends }, 'webhook safety net: event re-sent as often as allowed and still not applied; no longer re-sent, it needs a person')
        }
        continue
      }
      if (!await deps.webhooks.claimResend(entry, now)) continue
      const command = { type: CommandType.applyWebhook, provider, eventId } as const
      await deps.workQueue.send(command, paymentId ?? correlationIdOf(command))
      webhooksResent += 1
      deps.logger.warn({ provider, eventId, paymentId, since: entry.since, resends: entry.resends + 1 }, 'webhook safety net: stored event never applied; apply-webhook command sent again')
    }
    if (webhooksResent > 0) deps.metrics.count(MetricName.webhooksResent, {}, webhooksResent)
    if (webhooksGivenUp > 0) deps.metrics.count(MetricName.webhooksGivenUp, {}, webhooksGivenUp)
    if (webhooksResent > 0 || webhooksGivenUp > 0) deps.logger.info({ webhooksResent, webhooksGivenUp }, 'webhook safety net done')
    return { webhooksResent, webhooksGivenUp }
  }
}
