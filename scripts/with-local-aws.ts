import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { startDynamoDbLocal, startLocalEmulator } from '../src/local/emulator.js'

// Runs a command (the test runner, a benchmark) against one local AWS emulator started for the
// whole run. Each test file makes its own uniquely named tables and queues in it.
// With --dynamodb-local, DynamoDB (and its streams) run on AWS's DynamoDB Local instead of moto.
const argv = process.argv.slice(2)
const useDynamoDbLocal = argv[0] === '--dynamodb-local'
const [command, ...args] = useDynamoDbLocal ? argv.slice(1) : argv
if (command === undefined) {
  process.stderr.write('usage: with-local-aws [--dynamodb-local] <command> [args...]\n')
  process.exit(2)
}

const emulator = process.env.AWS_ENDPOINT_URL === undefined ? await startLocalEmulator() : undefined
const dynamodb = useDynamoDbLocal ? await startDynamoDbLocal() : undefined
const env = {
  ...process.env,
  AWS_ENDPOINT_URL: emulator?.endpoint ?? process.env.AWS_ENDPOINT_URL,
  ...(dynamodb !== undefined && { AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint }),
  AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
  AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'test',
  AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'test',
  // The SDK warns once per process that it will drop Node 20; the tests know.
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true'
}
const child = spawn(command, args, { stdio: 'inherit', env })
const forward = (signal: NodeJS.Signals): void => { child.kill(signal) }
process.on('SIGINT', forward)
process.on('SIGTERM', forward)
const [code, signal] = await once(child, 'exit') as [number | null, NodeJS.Signals | null]
await Promise.all([emulator?.stop(), dynamodb?.stop()])
process.exit(code ?? (signal === null ? 1 : 128))
