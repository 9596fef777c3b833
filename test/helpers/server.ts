import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { TEST_API_KEYS, TEST_KEYS, type Teardownable } from './build.js'

const SERVER = ['--import', 'tsx', 'src/server.ts']
const cwd = new URL('../..', import.meta.url)

// Every server of a test file keeps its data under one temporary folder, removed on exit.
const dataRoot = mkdtempSync(join(tmpdir(), 'paylith-server-'))
process.on('exit', () => { rmSync(dataRoot, { recursive: true, force: true }) })

/** A new, empty folder under the test file's temporary one (LOCAL_DATA_DIR for one server). */
export function newDataDir (): string {
  const dir = join(dataRoot, randomUUID())
  mkdirSync(dir)
  return dir
}

/** A server process started as `npm start` is, with no AWS endpoint, logging JSON lines. */
export interface ServerProcess {
  child: ReturnType<typeof spawn>
  lines: Array<Record<string, unknown>>
  exited: Promise<[number | null, NodeJS.Signals | null]>
  stderr: () => string
}

/**
 * Starts `npm start` as a user runs it: no endpoints (unless `env` names them), so it starts its
 * own emulators. With `npm`, under npm itself (the child is then npm, not the server).
 */
export function startServer (env: Record<string, string>, { npm = false }: { npm?: boolean } = {}): ServerProcess {
  const childEnv: Record<string, string | undefined> = { ...process.env, PORT: '0', LOG_LEVEL: 'info', LOCAL_DATA_DIR: newDataDir(), ...env }
  if (env.AWS_ENDPOINT_URL === undefined) delete childEnv.AWS_ENDPOINT_URL
  if (env.AWS_ENDPOINT_URL_DYNAMODB === undefined) delete childEnv.AWS_ENDPOINT_URL_DYNAMODB
  const child = npm
    ? spawn('npm', ['start', '--silent'], { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, SERVER, { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const lines: Array<Record<string, unknown>> = []
  createInterface({ input: child.stdout }).on('line', (line) => { try { lines.push(JSON.parse(line) as Record<string, unknown>) } catch { /* not JSON */ } })
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
  return { child, lines, exited, stderr: () => stderr }
}

/** Waits for a log line that passes `test`. */
export async function waitForLine (lines: Array<Record<string, unknown>>, test: (line: Record<string, unknown>) => boolean, timeoutMs = 30_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const line = lines.find(test)
    if (line !== undefined) return line
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error('timed out waiting for a log line')
}

/** Starts the server with the test API keys and waits until it listens; killed at teardown if still running. */
export async function listening (t: Teardownable, env: Record<string, string>): Promise<ServerProcess & { url: string }> {
  const server = startServer({ API_KEYS: TEST_API_KEYS, ...env })
  t.teardown(() => { server.child.kill('SIGKILL') })
  const started = await waitForLine(server.lines, (line) => typeof line.url === 'string' && typeof line.endpoint === 'string', 45_000)
  return { ...server, url: started.url as string }
}

/** Stops the server as Ctrl-C would and resolves with its exit code. */
export async function stopServer (server: ServerProcess): Promise<number | null> {
  server.child.kill('SIGTERM')
  const [code] = await server.exited
  return code
}

const auth = { authorization: `Bearer ${TEST_KEYS.all}`, 'content-type': 'application/json' }

/** `POST /v1/payments` with an Idempotency-Key: the status, the replay header and the body. */
export async function createPayment (url: string, key: string, body: Record<string, unknown>): Promise<{ status: number, replayed: string | null, body: Record<string, unknown> }> {
  const response = await fetch(`${url}/v1/payments`, { method: 'POST', headers: { ...auth, 'idempotency-key': key }, body: JSON.stringify(body) })
  return { status: response.status, replayed: response.headers.get('idempotent-replayed'), body: await response.json() as Record<string, unknown> }
}

/** A payment's status, or undefined when it cannot be read. */
export async function paymentStatus (url: string, id: string): Promise<string | undefined> {
  const response = await fetch(`${url}/v1/payments/${id}`, { headers: auth })
  return response.ok ? (await response.json() as { status: string }).status : undefined
}

/** The ids of a customer's payments. */
export async function customerPaymentIds (url: string, customerId: string): Promise<string[]> {
  const response = await fetch(`${url}/v1/payments?customerId=${customerId}`, { headers: auth })
  const { data } = await response.json() as { data: Array<{ id: string }> }
  return data.map((payment) => payment.id)
}

/** A PATH whose `java` is a stand-in script, ahead of the real one. */
export function fakeJava (script: string): string {
  const bin = newDataDir()
  writeFileSync(join(bin, 'java'), `#!/bin/sh\n${script}\n`, { mode: 0o755 })
  return `${bin}:${process.env.PATH ?? ''}`
}
