import { App } from 'aws-cdk-lib'
import { propsFromContext } from './context.js'
import { PaylithStack } from './stack.js'

// `npm run synth` (offline, no credentials) and `npx cdk deploy`. Tunables come from context:
//   -c memoryMb=1024 -c timeoutSeconds=30 -c paymentProvider=stripe -c tracing=true -c alarmEmail=ops@example.com
const app = new App({ outdir: process.env.CDK_OUTDIR ?? 'cdk.out' })
new PaylithStack(app, (app.node.tryGetContext('stackName') as string | undefined) ?? 'Paylith', {
  ...propsFromContext(app),
  description: 'paylith: payments service as one Lambda function'
})
app.synth()
