import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { startLocalRuntime } from '../../src/local/runtime.js'
import { createLogger } from '../../src/observability/logger.js'
import { bearer, testConfig } from '../helpers/build.js'
import { jsonLines } from '../helpers/lines.js'
import { waitFor } from '../helpers/wait.js'

// Against emulators that outlive the app (AWS_ENDPOINT_URL), a LOCAL_DATA_DIR given explicitly
// keeps the stream position: a restart resumes, as Lambda's mapping does, instead of replaying.

const RELAYED = 'outbox: charge command sent'

t.test('with LOCAL_DATA_DIR set and an external endpoint, a restarted runtime resumes the stream where the last one stopped', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'paylith-runtime-position-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const config = await testConfig(t.name, { PORT: '0', SQS_WAIT_TIME_SECONDS: '1', STREAM_POLL_INTERVAL_MS: '50', LOCAL_DATA_DIR: dir })
  t.ok(config.aws.endpoint !== undefined && config.local.dataDirSet, 'an external endpoint, and the folder given')

  const run = async (idempotencyKey: string) => {
    const logs = jsonLines()
    const runtime = await startLocalRuntime(config, createLogger({ logLevel: 'info' }, logs.sink))
    const response = await fetch(`${runtime.url}/v1/payments`, {
      method: 'POST',
      headers: { ...bearer(), 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
      body: JSON.stringify({ amount: 2500, currency: 'EUR', customerId: 'cus_position' })
    })
    t.equal(response.status, 201)
    const { id } = await response.json() as { id: string }
    await waitFor(`${id} to be relayed`, () => logs.lines.some((line) => line.msg === RELAYED && line.paymentId === id), { timeoutMs: 30_000 })
    await runtime.stop()
    return { id, relayed: logs.lines.filter((line) => line.msg === RELAYED).map((line) => line.paymentId) }
  }

  const first = await run('position-1')
  t.ok(existsSync(join(dir, 'stream-position.json')), 'the position is kept in LOCAL_DATA_DIR')
  const second = await run('position-2')
  t.same(second.relayed, [second.id], `the second run relayed its own payment only, not ${first.id} again`)
})

t.test('without LOCAL_DATA_DIR, a runtime on an external endpoint keeps no position in the default folder', async (t) => {
  const config = await testConfig(t.name, { PORT: '0' })
  t.equal(config.local.dataDirSet, false)
  t.equal(config.local.dataDir, '.paylith', 'the default, which the runtime leaves alone with an external endpoint')
})
