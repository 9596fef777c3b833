import { bootstrapLocal } from '../../src/local/bootstrap.js'
import type { Config } from '../../src/config/load.js'
import { TEST_API_KEYS, testConfig } from './build.js'

/**
 * Sets this process's environment the way the deployed function's is (queue URLs, table,
 * API keys, provider), on this test's own resources in the emulator, so lambda.ts (or the
 * bundle) can then be imported and initialise itself exactly as in AWS.
 */
export async function useLambdaEnvironment (label: string): Promise<Config> {
  const config = await testConfig(label)
  const { resources } = await bootstrapLocal(config)
  Object.assign(process.env, {
    AWS_LAMBDA_FUNCTION_NAME: `paylith-${label}`,
    AWS_ENDPOINT_URL: config.aws.endpoint,
    TABLE_NAME: config.tableName,
    WORK_QUEUE_URL: resources.queues.work.url,
    DEAD_LETTER_QUEUE_URL: resources.queues.deadLetter.url,
    SETTLEMENT_QUEUE_URL: resources.settlements.queue.url,
    LOG_LEVEL: 'silent',
    API_KEYS: TEST_API_KEYS,
    PAYMENT_PROVIDER: 'sandbox'
  })
  return config
}
