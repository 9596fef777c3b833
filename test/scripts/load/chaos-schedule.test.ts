import t from 'tap'
import { ChaosFault, chaosSchedule } from '../../../scripts/load/chaos-schedule.js'
import type { ScheduledFault } from '../../../scripts/load/faults.js'

const plan = { durationMs: 90_000, outageMs: 60_000, throttleRate: 0.1, latencyMs: 1500, duplicateVisibilitySeconds: 1, storm: async () => {} }
const kindOf = (entry: ScheduledFault) => entry.fault.kind === 'action' ? entry.fault.name : entry.fault.kind
const find = (schedule: ScheduledFault[], kind: string) => schedule.find((entry) => kindOf(entry) === kind) as ScheduledFault
const overlap = (a: ScheduledFault, b: ScheduledFault) => a.atMs < b.atMs + b.durationMs && b.atMs < a.atMs + a.durationMs

t.test('the schedule injects every fault kind once, in order, scaled to the load\'s length', async (t) => {
  const schedule = chaosSchedule(plan)
  t.same(schedule.map(kindOf).sort(), Object.values(ChaosFault).sort(), 'every kind')
  t.same(schedule.map((entry) => entry.atMs), [...schedule.map((entry) => entry.atMs)].sort((a, b) => a - b), 'sorted by time')
  t.match(find(schedule, 'dynamodb-throttle'), { atMs: 4500, durationMs: 40_500, fault: { rate: 0.1 } })
  t.match(find(schedule, 'kill'), { atMs: 7200 }, 'the kill falls while the load runs')
  t.match(find(schedule, 'sqs-duplicates'), { fault: { visibilityTimeoutSeconds: 1 } })
  t.match(find(schedule, 'provider-latency'), { fault: { latencyMs: 1500 } })
  const outage = find(schedule, 'provider-down')
  t.match(outage, { atMs: 28_800, durationMs: 60_000 }, 'a 60 s outage in the default run')
  const storm = find(schedule, 'webhook-storm')
  t.ok(storm.atMs > outage.atMs && storm.atMs < outage.atMs + outage.durationMs, 'the storm comes during the outage')
  t.equal(chaosSchedule({ ...plan, durationMs: 20_000, outageMs: 5_000 }).find((entry) => kindOf(entry) === 'kill')?.atMs, 1600, 'a short run, the same shares')
})

t.test('duplicate delivery never overlaps the latency spike or the outage, and the spike ends before the outage', async (t) => {
  for (const durationMs of [10_000, 20_000, 90_000, 600_000]) {
    const schedule = chaosSchedule({ ...plan, durationMs, outageMs: Math.round(durationMs / 3) })
    const duplicates = find(schedule, 'sqs-duplicates')
    t.notOk(overlap(duplicates, find(schedule, 'provider-latency')), `${durationMs} ms: not with the spike`)
    t.notOk(overlap(duplicates, find(schedule, 'provider-down')), `${durationMs} ms: not with the outage`)
    t.notOk(overlap(find(schedule, 'provider-latency'), find(schedule, 'provider-down')), `${durationMs} ms: the spike and the outage apart`)
  }
})

t.test('with no outage the storm still comes, while the load runs', async (t) => {
  const schedule = chaosSchedule({ ...plan, outageMs: 0 })
  t.equal(schedule.filter((entry) => kindOf(entry) === 'provider-down').length, 0)
  t.equal(find(schedule, 'webhook-storm').atMs, 54_000)
})
