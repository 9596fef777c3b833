import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { SCOPES, hashApiKey } from '../../src/config/api-keys.js'
import { freePort, startDynamoDbLocal, startLocalEmulator, type LocalEmulator } from '../../src/local/emulator.js'
import { LoadDynamoDb } from './options.js'
import type { AppProcess } from './types.js'

const HOST = '127.0.0.1'
const ROOT = new URL('../..', import.meta.url)
const SERVER = ['--import', 'tsx', 'src/server.ts']
/** How long the app may take to answer /ready after a start. */
const READY_TIMEOUT_MS = 60_000
/** How long a SIGTERM may take (the server's own SHUTDOWN_TIMEOUT_MS is 10 s) before SIGKILL. */
const STOP_GRACE_MS = 15_000

/** The emulators a load run starts, apart from the app, and the environment that points at them. */
export interface LoadEmulators {
  /** AWS_ENDPOINT_URL (moto: SQS, Secrets Manager), AWS_ENDPOINT_URL_DYNAMODB when DynamoDB Local runs, region and credentials. */
  env: Readonly<Record<string, string>>
  stop: () => Promise<void>
}

/**
 * Starts moto (SQS) and, unless DynamoDB is to run on moto too, an in-memory DynamoDB Local,
 * as processes of their own: the app can die and start again against the same data.
 */
export async function startLoadEmulators ({ dynamodb = LoadDynamoDb.dynamodbLocal }: { dynamodb?: LoadDynamoDb } = {}): Promise<LoadEmulators> {
  const started = await Promise.allSettled([
    startLocalEmulator(),
    dynamodb === LoadDynamoDb.dynamodbLocal ? startDynamoDbLocal() : undefined
  ])
  const running = started.flatMap((result) => result.status === 'fulfilled' && result.value !== undefined ? [result.value] : [])
  const stop = async (): Promise<void> => { await Promise.all(running.map((emulator) => emulator.stop())) }
  const failure = started.find((result) => result.status === 'rejected')
  if (failure !== undefined) {
    await stop()
    throw failure.reason
  }
  const [moto, dynamoDbLocal] = started.map((result) => result.status === 'fulfilled' ? result.value : undefined) as [LocalEmulator, LocalEmulator | undefined]
  return {
    env: {
      AWS_ENDPOINT_URL: moto.endpoint,
      ...(dynamoDbLocal !== undefined && { AWS_ENDPOINT_URL_DYNAMODB: dynamoDbLocal.endpoint }),
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test'
    },
    stop
  }
}

/** How to start the app process. */
export interface AppProcessOptions {
  /** The emulators' environment (startLoadEmulators). */
  emulatorEnv: Readonly<Record<string, string>>
  /** More variables for the app (LOCAL_FAULTS_FILE, SANDBOX_LATENCY_MS, ...); they win over the defaults. */
  env?: Readonly<Record<string, string>>
  /** How long a start may take to answer /ready. */
  readyTimeoutMs?: number
}

/** The Standard Webhooks secret in a WEBHOOK_SECRETS value, if there is one. */
export function standardSecretOf (env: Readonly<Record<string, string>>): string | undefined {
  return (env.WEBHOOK_SECRETS ?? '').split(',').map((entry) => entry.trim()).find((entry) => entry.startsWith('standard='))?.slice('standard='.length)
}

/**
 * Starts paylith as `npm start` does (`node --import tsx src/server.ts`, not on a terminal, so
 * it logs JSON lines) against emulators that outlive it: a generated API key with every scope,
 * a known Standard Webhooks secret, the sandbox provider, a fixed port (the same after a
 * restart) and a temporary LOCAL_DATA_DIR. The table and queues are the app's own bootstrap's.
 * Resolves once it answers /ready; if this process exits, the app is killed with it.
 */
export async function startAppProcess (options: AppProcessOptions): Promise<AppProcess> {
  const apiKey = `plk_load_${randomBytes(24).toString('base64url')}`
  const port = await freePort()
  const dataDir = mkdtempSync(join(tmpdir(), 'paylith-load-'))
  const env: Record<string, string> = {
    ...options.emulatorEnv,
    PORT: String(port),
    HOST,
    LOG_LEVEL: 'info',
    API_KEYS: `${hashApiKey(apiKey)}=${SCOPES.join('|')}`,
    WEBHOOK_SECRETS: `standard=whsec_${randomBytes(32).toString('base64')}`,
    PAYMENT_PROVIDER: 'sandbox',
    LOCAL_DATA_DIR: dataDir,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...options.env
  }
  const url = `http://${HOST}:${port}`
  const readyTimeoutMs = options.readyTimeoutMs ?? READY_TIMEOUT_MS
  const lines: Array<Record<string, unknown>> = []
  let child: ChildProcess | undefined
  let stderr = ''
  const killOnExit = (): void => { child?.kill('SIGKILL') }
  process.on('exit', killOnExit)

  const start = async (): Promise<void> => {
    const childEnv: NodeJS.ProcessEnv = { ...process.env }
    for (const name of ['AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_DYNAMODB', 'API_KEYS', 'API_KEYS_SECRET_ARN', 'WEBHOOK_SECRETS', 'WEBHOOK_SECRETS_ARN']) delete childEnv[name]
    const started = spawn(process.execPath, SERVER, { cwd: ROOT, env: { ...childEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    child = started
    stderr = ''
    started.stderr?.setEncoding('utf8').on('data', (chunk: string) => { stderr = (stderr + chunk).slice(-4000) })
    createInterface({ input: started.stdout! }).on('line', (line) => {
      if (!line.startsWith('{')) return
      try { lines.push(JSON.parse(line) as Record<string, unknown>) } catch { /* not a JSON line */ }
    })
    await waitUntilReady(url, started, readyTimeoutMs, () => stderr)
  }

  const kill = async (signal: NodeJS.Signals, graceMs: number): Promise<void> => {
    const running = child
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return
    const exited = once(running, 'exit')
    running.kill(signal)
    const timer = setTimeout(() => running.kill('SIGKILL'), graceMs)
    await exited
    clearTimeout(timer)
  }

  try {
    await start()
  } catch (error) {
    await kill('SIGKILL', 0)
    process.off('exit', killOnExit)
    rmSync(dataDir, { recursive: true, force: true })
    throw error
  }

  return {
    url,
    apiKey,
    env,
    lines: () => lines,
    crashAndRestart: async () => {
      await kill('SIGKILL', 0)
      await start()
    },
    stop: async () => {
      await kill('SIGTERM', STOP_GRACE_MS)
      process.off('exit', killOnExit)
      rmSync(dataDir, { recursive: true, force: true })
    }
  }
}

/** Polls /ready until it answers 200; fails at once if the process exits, with its last words. */
async function waitUntilReady (url: string, child: ChildProcess, timeoutMs: number, stderr: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the app exited (${child.exitCode ?? child.signalCode}) before it was ready: ${stderr().trim().split('\n').slice(-3).join(' | ')}`)
    }
    try {
      const response = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(2_000) })
      await response.body?.cancel()
      if (response.status === 200) return
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`the app did not answer /ready at ${url} within ${timeoutMs} ms`)
}
