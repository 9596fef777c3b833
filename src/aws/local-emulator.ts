import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'

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
export const INSTALL_HINT = 'moto_server is not installed: install it with `pipx install "moto[server]"`, or set AWS_ENDPOINT_URL to another AWS endpoint (for example LocalStack).'

/**
 * Starts `moto_server` (in-memory DynamoDB, Streams, SQS, Secrets Manager, S3) on a free
 * loopback port and resolves once it answers HTTP.
 * @throws EmulatorUnavailableError when it is not installed or does not come up in time
 */
export async function startLocalEmulator (options: StartEmulatorOptions = {}): Promise<LocalEmulator> {
  const command = options.command ?? 'moto_server'
  const port = await freePort()
  const endpoint = `http://${HOST}:${port}`
  const child = spawn('/bin/sh', ['-c', WATCHDOG, 'moto-watchdog', command, '-H', HOST, '-p', String(port)], { stdio: ['pipe', 'ignore', 'pipe'] })
  child.stdin?.on('error', () => {})

  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { stderr = (stderr + chunk).slice(-2000) })
  const spawnFailure = once(child, 'error').then(([error]) => {
    throw new EmulatorUnavailableError(`could not start ${command}: ${(error as Error).message}`, { cause: error })
  })
  const earlyExit = once(child, 'exit').then(([code]) => {
    if (code === NOT_FOUND) throw new EmulatorUnavailableError(INSTALL_HINT)
    throw new EmulatorUnavailableError(`${command} exited with code ${String(code)} before answering: ${lastLine(stderr)}`)
  })
  const stop = (): Promise<void> => stopChild(child)

  try {
    await Promise.race([spawnFailure, earlyExit, waitUntilAnswering(endpoint, options.startTimeoutMs ?? 20_000)])
  } catch (error) {
    await stop()
    throw error
  } finally {
    spawnFailure.catch(() => {})
    earlyExit.catch(() => {})
  }

  return { endpoint, stop }
}

async function freePort (): Promise<number> {
  const server = createServer()
  server.listen(0, HOST)
  await once(server, 'listening')
  const address = server.address()
  server.close()
  if (address === null || typeof address === 'string') throw new Error('could not find a free port')
  return address.port
}

async function waitUntilAnswering (endpoint: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${endpoint}/moto-api/data.json`, { signal: AbortSignal.timeout(1_000) })
      await response.body?.cancel()
      if (response.ok) return
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new EmulatorUnavailableError(`the local AWS emulator did not answer at ${endpoint} within ${timeoutMs} ms`)
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
