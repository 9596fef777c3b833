import type { ScheduledFault } from './faults.js'

/** The fault kinds a chaos run injects, as its report names them. */
export const ChaosFault = {
  kill: 'kill',
  providerDown: 'provider-down',
  providerLatency: 'provider-latency',
  dynamodbThrottle: 'dynamodb-throttle',
  sqsDuplicates: 'sqs-duplicates',
  webhookStorm: 'webhook-storm'
} as const

/** One fault kind of a chaos run. */
export type ChaosFault = (typeof ChaosFault)[keyof typeof ChaosFault]

/** What the schedule is scaled to, and the faults' strengths. */
export interface ChaosPlan {
  /** The load's length: every window but the outage's is a share of it. */
  durationMs: number
  /** The outage's length (0: none); it may outlast the load, and the drain then waits for it. */
  outageMs: number
  throttleRate: number
  latencyMs: number
  duplicateVisibilitySeconds: number
  /** Sends the webhook storm. */
  storm: () => Promise<unknown>
}

/**
 * The chaos schedule, as shares of the load's length D. Faults that would only make each other
 * meaningless stay apart: duplicate delivery (a short visibility) never overlaps the latency
 * spike or the outage, which would redeliver every message in hand until it is dead-lettered,
 * a misconfiguration rather than a fault; and the latency spike ends before the outage starts.
 *
 *   0.05 D – 0.50 D  DynamoDB throttling          0.08 D  kill -9 and restart (mid-batch)
 *   0.16 D – 0.24 D  SQS duplicate delivery       0.25 D – 0.31 D  provider latency spike
 *   0.32 D – + outage  provider down              0.32 D + outage / 2  webhook storm (in the outage)
 */
export function chaosSchedule (plan: ChaosPlan): ScheduledFault[] {
  const at = (share: number): number => Math.round(plan.durationMs * share)
  const outageAt = at(0.32)
  const schedule: ScheduledFault[] = [
    // Long enough to outlast the restart (seconds, whatever D is) by as much again in a short
    // run, and lengthened by the restart's time in any case, so the app always meets it.
    { atMs: at(0.05), durationMs: at(0.45), fault: { kind: 'dynamodb-throttle', rate: plan.throttleRate }, outlastsRestarts: true },
    { atMs: at(0.08), durationMs: 0, fault: { kind: 'kill' } },
    { atMs: at(0.16), durationMs: at(0.08), fault: { kind: 'sqs-duplicates', visibilityTimeoutSeconds: plan.duplicateVisibilitySeconds } },
    { atMs: at(0.25), durationMs: at(0.06), fault: { kind: 'provider-latency', latencyMs: plan.latencyMs } }
  ]
  if (plan.outageMs > 0) schedule.push({ atMs: outageAt, durationMs: plan.outageMs, fault: { kind: 'provider-down' } })
  // In the outage when there is one (webhooks keep coming while the provider's API is down).
  const stormAt = plan.outageMs > 0 ? outageAt + Math.round(plan.outageMs / 2) : at(0.6)
  schedule.push({ atMs: stormAt, durationMs: 0, fault: { kind: 'action', name: ChaosFault.webhookStorm, run: plan.storm } })
  return schedule.sort((a, b) => a.atMs - b.atMs)
}
