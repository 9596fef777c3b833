import { randomBytes } from 'node:crypto'
import t from 'tap'
import { startLocalEmulator } from '../../src/local/emulator.js'

/**
 * The emulator endpoint for this test file: the one `npm test` started for the run, or, when a
 * file is run on its own, one started for this process and stopped when it exits.
 */
export async function localAwsEndpoint (): Promise<string> {
  if (process.env.AWS_ENDPOINT_URL !== undefined) return process.env.AWS_ENDPOINT_URL
  const emulator = await startLocalEmulator()
  process.env.AWS_ENDPOINT_URL = emulator.endpoint
  process.env.AWS_ACCESS_KEY_ID ??= 'test'
  process.env.AWS_SECRET_ACCESS_KEY ??= 'test'
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'
  t.teardown(() => emulator.stop())
  return emulator.endpoint
}

/** Resource names no other test (file or case) uses, so tests share one emulator safely. */
export function uniqueNames (label: string): { tableName: string; workQueueName: string; deadLetterQueueName: string; settlementBucketName: string; settlementQueueName: string; settlementDeadLetterQueueName: string } {
  const suffix = `${label.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 30)}-${randomBytes(4).toString('hex')}`
  return {
    tableName: `paylith-${suffix}`,
    workQueueName: `paylith-work-${suffix}`,
    deadLetterQueueName: `paylith-dlq-${suffix}`,
    // A bucket name is lower case, with no two dashes in a row or at either end.
    settlementBucketName: `paylith-stl-${suffix.toLowerCase().replace(/-+/g, '-')}`.slice(0, 63).replace(/-$/, ''),
    settlementQueueName: `paylith-stl-${suffix}`,
    settlementDeadLetterQueueName: `paylith-stl-dlq-${suffix}`
  }
}
