import { App } from 'aws-cdk-lib'
import { PaylithStack } from './stack.js'

// `npm run synth` (offline, no credentials) and `npx cdk deploy`. Tunables come from context:
//   -c memoryMb=1024 -c timeoutSeconds=30 -c paymentProvider=stripe -c tracing=true -c alarmEmail=ops@example.com
const app = new App({ outdir: process.env.CDK_OUTDIR ?? 'cdk.out' })
const context = (key: string): string | undefined => app.node.tryGetContext(key) as string | undefined
const number = (key: string): number | undefined => (context(key) === undefined ? undefined : Number(context(key)))

new PaylithStack(app, context('stackName') ?? 'Paylith', {
  memoryMb: number('memoryMb'),
  timeoutSeconds: number('timeoutSeconds'),
  maxReceiveCount: number('maxReceiveCount'),
  sqsMaxConcurrency: number('sqsMaxConcurrency'),
  paymentProvider: context('paymentProvider') === 'sandbox' ? 'sandbox' : 'stripe',
  tracing: String(context('tracing')) === 'true',
  alarmEmail: context('alarmEmail'),
  description: 'paylith: payments service as one Lambda function'
})
app.synth()
