import { appendFileSync } from 'node:fs'
import { join } from 'node:path'
import { PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb'
import { SendMessageCommand } from '@aws-sdk/client-sqs'
import { marshall } from '@aws-sdk/util-dynamodb'
import t from 'tap'
import { Invariant, checkInvariants, evaluateInvariants, formatInvariants, type InvariantResult, type Snapshot } from '../../../scripts/load/invariants.js'
import type { Payment } from '../../../src/domain/payment.js'
import type { DeadLetter } from '../../../src/store/dead-letters.js'
import type { RequestRecord } from '../../../scripts/load/types.js'
import { WEBHOOK_ROUTE, webhookStorm } from '../../../scripts/load/webhook-storm.js'
import { startLocalRuntime } from '../../../src/local/runtime.js'
import { createLogger } from '../../../src/observability/logger.js'
import { readSandboxLedger } from '../../../src/providers/sandbox-ledger.js'
import { Keys, toItem } from '../../../src/store/table.js'
import { bearer, testConfig } from '../../helpers/build.js'
import { jsonLines } from '../../helpers/lines.js'
import { waitFor } from '../../helpers/wait.js'
import { tempDir } from '../../helpers/temp-dir.js'

// A healthy run on the local runtime, a webhook storm included, holds every invariant; then each
// invariant is broken on purpose, in the table, the queue, the ledger or the records, and fails.

const STANDARD_SECRET = `whsec_${Buffer.from('invariants test standard secret!').toString('base64')}`

t.test('a healthy run holds every invariant, and each fabricated violation fails its own', async (t) => {
  const dir = tempDir('paylith-invariants-')
  const ledgerFile = join(dir, 'ledger.jsonl')
  const env = {
    PORT: '0',
    SQS_WAIT_TIME_SECONDS: '1',
    VISIBILITY_TIMEOUT_SECONDS: '2',
    STREAM_POLL_INTERVAL_MS: '50',
    PROVIDER_BACKOFF_BASE_MS: '10',
    PROVIDER_BACKOFF_CAP_MS: '50',
    WEBHOOK_SECRETS: `standard=${STANDARD_SECRET}`,
    SANDBOX_LEDGER_FILE: ledgerFile
  }
  const config = await testConfig(t.name, env)
  const metrics = jsonLines()
  const runtime = await startLocalRuntime(config, createLogger({ logLevel: 'silent' }), { metricsDestination: metrics.sink })
  t.teardown(() => runtime.stop())
  const { dynamodb, sqs } = runtime.deps
  const runEnv = { ...process.env as Record<string, string>, ...env, TABLE_NAME: config.tableName, WORK_QUEUE_NAME: config.queues.work.name, DEAD_LETTER_QUEUE_NAME: config.queues.deadLetter.name }

  // The workload: creates (one retried with its key), each recorded as the load tool records them.
  const records: RequestRecord[] = []
  const create = async (key: string, amount: number, customerId: string): Promise<string> => {
    const at = Date.now()
    const response = await fetch(`${runtime.url}/v1/payments`, { method: 'POST', headers: { ...bearer(), 'content-type': 'application/json', 'idempotency-key': key }, body: JSON.stringify({ amount, currency: 'EUR', customerId }) })
    const body = await response.json() as { id: string }
    records.push({ route: 'POST /v1/payments', at, ms: Date.now() - at, status: response.status, paymentId: body.id, idempotencyKey: key, customerId })
    return body.id
  }
  const charged = [await create('k-1', 2500, 'cus_a'), await create('k-2', 3000, 'cus_a'), await create('k-3', 2561, 'cus_b')]
  const declined = await create('k-4', 2551, 'cus_b')
  t.equal(await create('k-1', 2500, 'cus_a'), charged[0], 'a retry with the key names the same payment')
  await waitFor('every charge in the ledger', () => readSandboxLedger(ledgerFile).entries.length === 3, { timeoutMs: 30_000 })

  // The storm: every event three times at once, each target with an out-of-order conflicting event.
  const storm = await webhookStorm({
    url: runtime.url,
    env: runEnv,
    targets: [...charged.map((paymentId) => ({ paymentId, outcome: 'succeeded' as const })), { paymentId: declined, outcome: 'failed' }],
    duplicates: 3,
    ratePerSecond: 100,
    outOfOrderShare: 1
  })
  t.equal(storm.length, 8 * 3, 'two events per target, three deliveries each')
  t.ok(storm.every((record) => record.route === WEBHOOK_ROUTE && record.status === 200), 'every delivery answered 200')
  records.push(...storm)
  await waitFor('the webhooks to be stored once each', () => metrics.lines.filter((line) => line.WebhookAccepted === 1).length >= 8 + 4, { timeoutMs: 10_000 })
  t.equal(metrics.lines.filter((line) => line.WebhookDuplicate === 1).length, 8 * 2, 'the other deliveries were duplicates')

  const statusOf = async (id: string) => (await runtime.deps.payments.get(id))?.status
  await waitFor('the refunds to apply', async () => (await Promise.all(charged.map(statusOf))).every((status) => status === 'refunded'), { timeoutMs: 30_000 })
  t.equal(await statusOf(declined), 'failed', 'a decline stays failed, whatever the order of its declines')

  const check = async (extra: RequestRecord[] = []) => checkInvariants({ env: runEnv, ledgerFile, records: [...records, ...extra] })
  let results: InvariantResult[] = []
  await waitFor('every invariant to hold once the run drained', async () => {
    results = await check()
    return results.every((result) => result.held)
  }, { timeoutMs: 30_000, intervalMs: 500 })
  t.same(results.map((result) => result.name), Object.values(Invariant), 'every invariant checked')
  t.match(formatInvariants(results), /invariants held: 8\/8$/)
  t.equal(results.find((result) => result.name === Invariant.oneCharge)?.detail, '3 charges for 3 payments; charged more than once: 0')

  // From here on the pipeline must not repair what is broken on purpose.
  await runtime.stop()
  const breaks = async (name: string, fabricate: () => Promise<RequestRecord[] | undefined>) => {
    const before = await check()
    t.ok(before.find((result) => result.name === name)?.held, `${name}: held before`)
    const extra = await fabricate() ?? []
    records.push(...extra)
    const after = (await check()).find((result) => result.name === name)
    t.equal(after?.held, false, `${name}: fails (${after?.detail ?? ''})`)
  }

  await breaks(Invariant.oneCharge, async () => {
    appendFileSync(ledgerFile, `${JSON.stringify({ paymentId: charged[0], idempotencyKey: 'another-key', providerRef: 'sbx_again', at: new Date().toISOString() })}\n`)
    return undefined
  })
  await breaks(Invariant.ledgerAgrees, async () => {
    appendFileSync(ledgerFile, `${JSON.stringify({ paymentId: declined, idempotencyKey: declined, providerRef: 'sbx_declined', at: new Date().toISOString() })}\n`)
    return undefined
  })
  await breaks(Invariant.oneKeyOnePayment, async () => [{ route: 'POST /v1/payments', at: Date.now(), ms: 5, status: 201, paymentId: charged[1], idempotencyKey: 'k-1', customerId: 'cus_a' }])
  await breaks(Invariant.summaries, async () => {
    await dynamodb.send(new UpdateItemCommand({ TableName: config.tableName, Key: marshall(Keys.customerSummary('cus_a')), UpdateExpression: 'ADD #c :one', ExpressionAttributeNames: { '#c': 'c#EUR#succeeded' }, ExpressionAttributeValues: { ':one': { N: '1' } } }))
    return undefined
  })
  await breaks(Invariant.no5xx, async () => [{ route: 'GET /v1/payments/:id', at: Date.now(), ms: 5, status: 500, error: 'internal' }])
  await breaks(Invariant.noMessageLost, async () => {
    await (await sqs()).send(new SendMessageCommand({ QueueUrl: runtime.resources.queues.work.url, MessageBody: JSON.stringify({ type: 'charge', paymentId: charged[1] }) }))
    return undefined
  })
  await breaks(Invariant.historyForward, async () => {
    const event = { paymentId: charged[2] as string, version: 9, status: 'pending', previousStatus: 'refunded', at: new Date().toISOString() }
    await dynamodb.send(new PutItemCommand({ TableName: config.tableName, Item: toItem(Keys.paymentEvent(event.paymentId, event.version), event) }))
    return undefined
  })
  await breaks(Invariant.settledOrVisible, async () => {
    const at = new Date().toISOString()
    const payment = { id: 'pay_01STUCK000000000000000000', status: 'processing', amount: 1000, currency: 'EUR', customerId: 'cus_c', version: 2, createdAt: at, updatedAt: at }
    await dynamodb.send(new PutItemCommand({ TableName: config.tableName, Item: toItem(Keys.payment(payment.id), payment) }))
    return undefined
  })
})

const emptySnapshot = (): Snapshot => ({ payments: [], events: [], idempotency: [], deadLetters: [], summaries: new Map(), queues: { work: { visible: 0, inFlight: 0, delayed: 0 }, deadLetter: { visible: 0, inFlight: 0, delayed: 0 } }, ledger: [] })
const resultOf = (name: string, snapshot: Snapshot, records: RequestRecord[] = []) => evaluateInvariants(snapshot, records).find((result) => result.name === name)

t.test('only documented 503s are allowed among the 5xx', async (t) => {
  const record = (status: number, error?: string): RequestRecord => ({ route: 'GET /v1/payments/:id', at: 0, ms: 1, status, ...(error !== undefined && { error }) })
  const no5xx = (records: RequestRecord[]) => resultOf(Invariant.no5xx, emptySnapshot(), records)
  t.equal(no5xx([record(503, 'dependency-unavailable'), record(0, 'ECONNREFUSED'), record(200)])?.held, true, 'a documented 503 and a refused connection are not violations')
  t.equal(no5xx([record(503, 'internal')])?.held, false, 'a 503 of an undocumented type is')
  t.equal(no5xx([record(502)])?.held, false)
  t.match(no5xx([record(0, 'ECONNRESET')])?.detail, /1 got no answer/)
})

t.test('an unsettled payment is visibly waiting with an attention flag or a dead letter that can be redriven, not with a redriven one', async (t) => {
  const at = '2026-11-28T10:00:00.000Z'
  const payment = (id: string, extra: Partial<Payment> = {}): Payment => ({ id, status: 'processing', amount: 100, currency: 'EUR', customerId: 'cus_1', version: 2, createdAt: at, updatedAt: at, ...extra })
  const letter = (paymentId: string, status: DeadLetter['status']): DeadLetter => ({ messageId: `m-${paymentId}`, body: '{}', attributes: {}, messageAttributes: {}, sourceQueue: 'work', receiveCount: 5, deadLetteredAt: at, kind: 'message', status, paymentId })
  const snapshot = emptySnapshot()
  snapshot.payments.push(payment('pay_flagged', { attention: { reason: 'dead-lettered', since: at } }), payment('pay_lettered'))
  snapshot.deadLetters.push(letter('pay_lettered', 'open'))
  t.equal(resultOf(Invariant.settledOrVisible, snapshot)?.held, true)
  t.equal(resultOf(Invariant.noMessageLost, snapshot)?.held, true)
  t.match(resultOf(Invariant.noMessageLost, snapshot)?.detail, /1 dead letters \(1 open\)/)

  snapshot.payments.push(payment('pay_redriven'))
  snapshot.deadLetters.push(letter('pay_redriven', 'redriven'))
  t.equal(resultOf(Invariant.settledOrVisible, snapshot)?.held, false, 'redriven and still unsettled: nothing shows it waits')
})
