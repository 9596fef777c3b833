import { appendFileSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig } from '../../src/config/load.js'
import { createLogger } from '../../src/observability/logger.js'
import { createSandboxProvider, sandboxFromConfig } from '../../src/providers/sandbox.js'
import { openSandboxLedger, readSandboxLedger } from '../../src/providers/sandbox-ledger.js'
import { tempDir } from '../helpers/temp-dir.js'

const logger = createLogger({ logLevel: 'silent' })
const clock = () => new Date('2026-11-28T10:00:00.000Z')
const signal = new AbortController().signal
const request = (paymentId: string, amount = 2500) => ({ paymentId, idempotencyKey: paymentId, amount, currency: 'EUR', customerId: 'cus_1' })
const ledgerPath = () => join(tempDir('paylith-ledger-'), 'ledger.jsonl')
const sandboxOn = (path: string) => createSandboxProvider({ latencyMs: 0, webhookUrl: undefined, webhookSecret: undefined, logger, clock, ledger: openSandboxLedger(path) })

t.test('a real charge is a ledger line, written before the charge answers', async (t) => {
  const path = ledgerPath()
  const sandbox = sandboxOn(path)
  const result = await sandbox.charge(request('pay_1'), { signal })
  t.same(result, { outcome: 'succeeded', providerRef: 'sbx_pay_1' })
  t.same(readFileSync(path, 'utf8').split('\n'), [JSON.stringify({ paymentId: 'pay_1', idempotencyKey: 'pay_1', providerRef: 'sbx_pay_1', at: '2026-11-28T10:00:00.000Z' }), ''])

  await sandbox.charge(request('pay_1'), { signal })
  await sandbox.charge(request('pay_2', 2551), { signal })
  t.equal(readSandboxLedger(path).entries.length, 1, 'neither a replay nor a decline is a charge')
})

t.test('after a restart (a new sandbox on the same file) a key replays its charge and charges nothing again', async (t) => {
  const path = ledgerPath()
  await sandboxOn(path).charge(request('pay_1'), { signal })

  const restarted = sandboxOn(path)
  t.equal(restarted.chargesFor('pay_1'), 1, 'the charge of the last run is known')
  t.same(await restarted.charge(request('pay_1'), { signal }), { outcome: 'succeeded', providerRef: 'sbx_pay_1' }, 'the first result is replayed')
  t.equal(restarted.chargesFor('pay_1'), 1, 'no second charge')
  t.equal(readSandboxLedger(path).entries.length, 1, 'nothing more in the ledger')
})

t.test('a torn last line (a kill mid-write) is dropped, and the next charge starts its own line', async (t) => {
  const path = ledgerPath()
  await sandboxOn(path).charge(request('pay_1'), { signal })
  appendFileSync(path, '{"paymentId":"pay_2","idempot')

  const restarted = sandboxOn(path)
  t.equal(restarted.chargesFor('pay_2'), 0, 'the torn charge was never returned, so it is not one')
  await restarted.charge(request('pay_2'), { signal })
  t.same(readSandboxLedger(path).entries.map((entry) => entry.paymentId), ['pay_1', 'pay_2'])
})

t.test('a broken line that is not the last is an error naming it', async (t) => {
  const path = ledgerPath()
  writeFileSync(path, 'not json\n{"paymentId":"pay_1","idempotencyKey":"pay_1","providerRef":"sbx_pay_1","at":"2026-11-28T10:00:00.000Z"}\n')
  t.throws(() => openSandboxLedger(path), { name: 'SandboxLedgerError', message: /ledger\.jsonl:1: not a sandbox ledger entry/ })
  writeFileSync(path, '[1]\n')
  t.throws(() => readSandboxLedger(path), { name: 'SandboxLedgerError' }, 'JSON that is not an entry either')
})

t.test('no file is an empty ledger; SANDBOX_LEDGER_FILE gives the configured sandbox one', async (t) => {
  const path = ledgerPath()
  t.same(readSandboxLedger(path), { entries: [], validLength: 0 })
  const sandbox = sandboxFromConfig(loadConfig({ SANDBOX_LEDGER_FILE: path }), logger, clock)
  await sandbox.charge(request('pay_1'), { signal })
  t.equal(readSandboxLedger(path).entries.length, 1)
})

t.test('setLatency replaces the configured latency until cleared', async (t) => {
  const sandbox = createSandboxProvider({ latencyMs: 0, webhookUrl: undefined, webhookSecret: undefined, logger, clock })
  sandbox.setLatency(150)
  let started = Date.now()
  await sandbox.charge(request('pay_1'), { signal })
  t.ok(Date.now() - started >= 140, 'slow while set')
  sandbox.setLatency(undefined)
  started = Date.now()
  await sandbox.charge(request('pay_2'), { signal })
  t.ok(Date.now() - started < 100, 'back to the configured latency')
})
