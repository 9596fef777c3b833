import type { App } from 'aws-cdk-lib'
import type { PaylithStackProps } from './stack.js'

/**
 * The stack's tunables from cdk context (`-c timeoutSeconds=60`): context values arrive as text
 * from the command line, so numbers are converted here; an absent key leaves the default.
 */
export function propsFromContext (app: App): PaylithStackProps {
  const context = (key: string): string | undefined => {
    const value = app.node.tryGetContext(key) as unknown
    return value === undefined ? undefined : String(value)
  }
  const number = (key: string): number | undefined => (context(key) === undefined ? undefined : Number(context(key)))
  return {
    memoryMb: number('memoryMb'),
    timeoutSeconds: number('timeoutSeconds'),
    maxReceiveCount: number('maxReceiveCount'),
    sqsMaxConcurrency: number('sqsMaxConcurrency'),
    paymentProvider: context('paymentProvider') === 'sandbox' ? 'sandbox' : 'stripe',
    tracing: context('tracing') === 'true',
    alarmEmail: context('alarmEmail'),
    settlementBucketName: context('settlementBucketName'),
    reportRetentionDays: number('reportRetentionDays')
  }
}
