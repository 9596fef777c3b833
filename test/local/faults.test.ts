import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import t from 'tap'
import { parseFaults, watchFaults, type Faults } from '../../src/local/faults.js'
import { createLogger } from '../../src/observability/logger.js'
import { waitFor } from '../helpers/wait.js'

const faultsPath = () => join(mkdtempSync(join(tmpdir(), 'paylith-faults-')), 'faults.json')
/** Written as a chaos driver should: whole, then renamed into place. */
const write = (path: string, faults: unknown) => {
  writeFileSync(`${path}.tmp`, typeof faults === 'string' ? faults : JSON.stringify(faults))
  renameSync(`${path}.tmp`, path)
}

t.test('a faults file is read as faults; anything else is refused, saying why', async (t) => {
  const all = { dynamodb: { throttleRate: 0.2 }, provider: { down: true, latencyMs: 3000 }, sqs: { visibilityTimeoutSeconds: 1 } }
  t.same(parseFaults(JSON.stringify(all)), all)
  t.same(parseFaults('{}'), {}, 'no key, no fault')
  t.throws(() => parseFaults('{"dynamodb":'), { name: 'InvalidFaultsError', message: /^not JSON/ })
  t.throws(() => parseFaults('{"dynamodb":{"throttleRate":2}}'), { name: 'InvalidFaultsError', message: /\/dynamodb\/throttleRate/ })
  t.throws(() => parseFaults('{"provider":{"slow":true}}'), { name: 'InvalidFaultsError' }, 'an unknown key is a mistake, not ignored')
})

t.test('the watcher follows the file: read at start, on each change, and none once it is gone', async (t) => {
  const path = faultsPath()
  write(path, { provider: { down: true } })
  const logs: Array<Record<string, unknown>> = []
  const logger = createLogger({ logLevel: 'info' }, new Writable({ write (chunk, _e, done) { logs.push(JSON.parse(String(chunk))); done() } }))
  const changes: Faults[] = []
  const watcher = watchFaults(path, { logger, intervalMs: 20, onChange: (faults) => { changes.push(faults) } })
  t.teardown(() => { watcher.stop() })
  t.same(watcher.current(), { provider: { down: true } }, 'read at start')
  t.same(changes, [{ provider: { down: true } }], 'and told')

  write(path, { dynamodb: { throttleRate: 0.5 } })
  await waitFor('the change', () => watcher.current().dynamodb?.throttleRate === 0.5, { timeoutMs: 2_000, intervalMs: 10 })

  write(path, 'not json')
  await waitFor('the warning', () => logs.some((line) => line.msg === 'LOCAL_FAULTS_FILE cannot be read as faults; the faults in force are unchanged'), { timeoutMs: 2_000, intervalMs: 10 })
  t.same(watcher.current(), { dynamodb: { throttleRate: 0.5 } }, 'a broken file leaves the faults as they were')

  rmSync(path)
  await waitFor('no faults', () => Object.keys(watcher.current()).length === 0, { timeoutMs: 2_000, intervalMs: 10 })
  t.same(changes.length, 3, 'each accepted change was told once')
  t.ok(logs.some((line) => line.msg === 'injected faults now in force (LOCAL_FAULTS_FILE)' && JSON.stringify(line.faults) === '{"provider":{"down":true}}'), 'each is logged')

  watcher.stop()
  write(path, { provider: { latencyMs: 5 } })
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.same(watcher.current(), {}, 'stopped: the file is no longer followed')
})

t.test('no file at start is no fault', async (t) => {
  const watcher = watchFaults(faultsPath(), { logger: createLogger({ logLevel: 'silent' }), onChange: () => {} })
  t.same(watcher.current(), {})
  watcher.stop()
})
