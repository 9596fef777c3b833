import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { SCOPES, hashApiKey } from '../src/config/api-keys.js'
import { join } from 'node:path'
import { EmulatorUnavailableError, startDynamoDbLocal, startLocalEmulator, type LocalEmulator } from '../src/local/emulator.js'
import { watchParent } from '../src/local/parent-watch.js'

// `npm run dev`: `npm start` that restarts on every source change. The emulators start once,
// here, and outlive the restarts: moto (SQS, Secrets Manager) and DynamoDB Local with the data
// kept in LOCAL_DATA_DIR (.paylith), as `npm start` keeps it. The server runs under
// `node --watch` with AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_DYNAMODB pointing at them, so it
// starts none of its own; endpoints you set are passed on as they are. Ctrl-C stops the
// server, then the emulators; so does npm going away (npm 11 exits on SIGTERM without passing
// it on, as `npm start` knows too: src/local/parent-watch.ts).
const SERVER = ['--import', 'tsx', '--watch', 'src/server.ts']
const STOP_TIMEOUT_MS = 15_000

const env: NodeJS.ProcessEnv = { ...process.env }
const parentPid = process.ppid
const emulators: LocalEmulator[] = []
const wantsDynamoDbLocal = env.AWS_ENDPOINT_URL === undefined && env.AWS_ENDPOINT_URL_DYNAMODB === undefined && env.LOCAL_DYNAMODB !== 'moto'
if (env.AWS_ENDPOINT_URL === undefined) {
  let emulator: LocalEmulator
  try {
    emulator = await startLocalEmulator({ command: env.LOCAL_EMULATOR_COMMAND })
    emulators.push(emulator)
    if (wantsDynamoDbLocal) {
      const dynamodb = await startDynamoDbLocal({ dataDir: join(env.LOCAL_DATA_DIR ?? '.paylith', 'dynamodb') })
      emulators.push(dynamodb)
      env.AWS_ENDPOINT_URL_DYNAMODB = dynamodb.endpoint
      process.stdout.write(`paylith dev: DynamoDB Local at ${dynamodb.endpoint}, data kept in ${env.LOCAL_DATA_DIR ?? '.paylith'}\n`)
    }
  } catch (error) {
    await Promise.all(emulators.map((started) => started.stop()))
    if (!(error instanceof EmulatorUnavailableError)) throw error
    process.stderr.write(`paylith: ${error.message}\n`)
    process.exit(1)
  }
  env.AWS_ENDPOINT_URL = emulator.endpoint
  // The emulator ignores credentials but the SDK insists on some.
  env.AWS_ACCESS_KEY_ID ??= 'local'
  env.AWS_SECRET_ACCESS_KEY ??= 'local'
  process.stdout.write(`paylith dev: local AWS emulator (moto_server) at ${emulator.endpoint}, kept across restarts\n`)
}
// One key for the whole session, so a restart does not invalidate the one in your shell (none
// when the keys come from a secret: API_KEYS with API_KEYS_SECRET_ARN is refused).
if ((env.API_KEYS === undefined || env.API_KEYS === '') && (env.API_KEYS_SECRET_ARN === undefined || env.API_KEYS_SECRET_ARN === '')) {
  const key = `plk_local_${randomBytes(24).toString('base64url')}`
  env.API_KEYS = `${hashApiKey(key)}=${SCOPES.join('|')}`
  process.stdout.write(`paylith dev: API_KEYS is not set, so this session generated an API key with every scope (${SCOPES.join(', ')}), valid across restarts:\n    ${key}\n`)
}

const child = spawn(process.execPath, SERVER, { env, stdio: 'inherit' })
const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
// Ctrl-C reaches the whole process group; a signal sent to this process alone is passed on.
let killTimer: NodeJS.Timeout | undefined
const stop = (signal: NodeJS.Signals): void => {
  if (child.exitCode === null && child.signalCode === null) child.kill(signal)
  killTimer ??= setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS)
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
watchParent(() => {
  process.stdout.write('paylith dev: the process that started this one is gone; stopping\n')
  stop('SIGTERM')
}, { initialPid: parentPid })
const [code] = await exited
clearTimeout(killTimer)
await Promise.all(emulators.map((started) => started.stop()))
process.exit(code ?? 0)
