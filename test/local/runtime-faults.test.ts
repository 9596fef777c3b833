import { renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import type { Faults } from '../../src/local/faults.js'
import { startLocalRuntime } from '../../src/local/runtime.js'
import { createLogger } from '../../src/observability/logger.js'
import { readSandboxLedger } from '../../src/providers/sandbox-ledger.js'
import { bearer, testConfig } from '../helpers/build.js'
import { jsonLines } from '../helpers/lines.js'
import { waitFor } from '../helpers/wait.js'
import { tempDir } from '../helpers/temp-dir.js'

// LOCAL_FAULTS_FILE on the whole local runtime: the file is followed while it runs.

t.test('the local runtime follows LOCAL_FAULTS_FILE: the provider goes down and comes back, DynamoDB calls are throttled and counted', async (t) => {
  const dir = tempDir('paylith-runtime-faults-')
  const faultsFile = join(dir, 'faults.json')
  const setFaults = (faults: Faults) => {
    writeFileSync(`${faultsFile}.tmp`, JSON.stringify(faults))
    renameSync(`${faultsFile}.tmp`, faultsFile)
  }
  setFaults({ provider: { down: true } })
  const logs = jsonLines()
  const metrics = jsonLines()
  const config = await testConfig(t.name, {
    PORT: '0',
    SQS_WAIT_TIME_SECONDS: '1',
    VISIBILITY_TIMEOUT_SECONDS: '2',
    STREAM_POLL_INTERVAL_MS: '50',
    PROVIDER_MAX_ATTEMPTS: '1',
    LOCAL_FAULTS_FILE: faultsFile,
    SANDBOX_LEDGER_FILE: join(dir, 'ledger.jsonl')
  })
  const runtime = await startLocalRuntime(config, createLogger({ logLevel: 'info' }, logs.sink), { metricsDestination: metrics.sink })
  t.teardown(() => runtime.stop())
  const api = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${runtime.url}${path}`, { method, headers: { ...bearer(), ...(body !== undefined && { 'content-type': 'application/json' }), ...headers }, ...(body !== undefined && { body: JSON.stringify(body) }) })
    return { status: response.status, body: await response.json() as { id: string, status: string } }
  }

  const created = await api('POST', '/v1/payments', { amount: 2500, currency: 'EUR', customerId: 'cus_faults' }, { 'idempotency-key': 'faults-1' })
  t.equal(created.status, 201)
  const id = created.body.id
  await waitFor('a charge to fail on the provider that is down', () => logs.lines.some((line) => typeof line.msg === 'string' && /provider is down/.test(JSON.stringify(line))), { timeoutMs: 20_000 })
  t.not((await api('GET', `/v1/payments/${id}`)).body.status, 'succeeded', 'not charged while down')
  t.equal(runtime.sandbox?.chargesFor(id), 0)

  // Up again, with every DynamoDB call at a 30 % chance of a throttle and a short SQS visibility.
  setFaults({ dynamodb: { throttleRate: 0.3 }, sqs: { visibilityTimeoutSeconds: 1 } })
  await waitFor('the payment to succeed', async () => (await api('GET', `/v1/payments/${id}`).catch(() => undefined))?.body.status === 'succeeded', { timeoutMs: 30_000, intervalMs: 200 })
  await waitFor('a counted injection', () => metrics.lines.some((line) => line.FaultInjected === 1), { timeoutMs: 10_000 })
  const injected = metrics.lines.filter((line) => line.FaultInjected === 1)
  t.ok(injected.every((line) => line.fault === 'ProvisionedThroughputExceededException' || line.fault === 'ThrottlingException'), `${injected.length} FaultInjected documents, by fault`)
  t.ok(logs.lines.some((line) => line.msg === 'injected faults now in force (LOCAL_FAULTS_FILE)' && (line.faults as Faults).dynamodb?.throttleRate === 0.3), 'the change is logged')

  setFaults({})
  t.same(readSandboxLedger(join(dir, 'ledger.jsonl')).entries.map((entry) => entry.paymentId), [id], 'charged once, in the ledger')
})
