import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { SCOPES, hashApiKey } from '../src/config/api-keys.js'
import { EmulatorUnavailableError, startLocalEmulator, type LocalEmulator } from '../src/local/emulator.js'

// `npm run dev`: `npm start` that restarts on every source change. The emulator starts once,
// here, and outlives the restarts (with its data); the server runs under `node --watch` with
// AWS_ENDPOINT_URL pointing at it, so it starts none of its own. AWS_ENDPOINT_URL_DYNAMODB,
// when set, is passed on as it is. Ctrl-C stops the server, then the emulator.
const SERVER = ['--import', 'tsx', '--watch', 'src/server.ts']
const STOP_TIMEOUT_MS = 15_000

const env: NodeJS.ProcessEnv = { ...process.env }
let emulator: LocalEmulator | undefined
if (env.AWS_ENDPOINT_URL === undefined) {
  try {
    emulator = await startLocalEmulator({ command: env.LOCAL_EMULATOR_COMMAND })
  } catch (error) {
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
// One key for the whole session, so a restart does not invalidate the one in your shell.
if (env.API_KEYS === undefined || env.API_KEYS === '') {
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
const [code] = await exited
clearTimeout(killTimer)
await emulator?.stop()
process.exit(code ?? 0)
