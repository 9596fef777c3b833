import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { utimesSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import t from 'tap'
import { descendants, isRunning } from './helpers/processes.js'

// `npm run dev` as a user runs it: its own emulator, the server under `node --watch`.
const cwd = new URL('..', import.meta.url)
const WATCHED = fileURLToPath(new URL('../src/server.ts', import.meta.url))

/** The dev server's stdout as it comes: all its text, and each `listening` line (the server's URL and its emulator's endpoint). */
function followStdout (stdout: Readable): { text: () => string, listening: Array<{ url: string, endpoint: string }> } {
  let text = ''
  const listening: Array<{ url: string, endpoint: string }> = []
  createInterface({ input: stdout }).on('line', (line) => {
    text += `${line}\n`
    try {
      const parsed = JSON.parse(line) as { url?: unknown, endpoint?: unknown }
      if (typeof parsed.url === 'string' && typeof parsed.endpoint === 'string') listening.push({ url: parsed.url, endpoint: parsed.endpoint })
    } catch { /* not JSON */ }
  })
  return { text: () => text, listening }
}

async function waitFor<T> (find: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const found = find()
    if (found !== undefined) return found
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error('timed out waiting for the dev server')
}

t.test('npm run dev restarts the server on a source change, keeps its emulator and API key, and Ctrl-C leaves nothing running', async (t) => {
  const env: Record<string, string | undefined> = { ...process.env, PORT: '0', LOG_LEVEL: 'info' }
  delete env.AWS_ENDPOINT_URL
  delete env.AWS_ENDPOINT_URL_DYNAMODB
  delete env.API_KEYS
  delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/dev.ts'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { child.kill('SIGKILL') })
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const out = followStdout(child.stdout)
  const { listening } = out

  const first = await waitFor(() => listening[0])
  const key = /\n {4}(plk_local_\S+)\n/.exec(out.text())?.[1] ?? ''
  t.match(key, /^plk_local_/, 'prints the session\'s key')
  t.equal((await fetch(`${first.url}/health`)).status, 200)

  utimesSync(WATCHED, new Date(), new Date())
  const second = await waitFor(() => listening[1])
  t.equal((await fetch(`${second.url}/health`)).status, 200, 'answers again after the restart')
  t.equal(second.endpoint, first.endpoint, 'on the same emulator, which was not restarted')
  const payments = await fetch(`${second.url}/v1/payments?customerId=cus_dev`, { headers: { authorization: `Bearer ${key}` } })
  t.equal(payments.status, 200, 'the key still works after the restart')
  t.equal(out.text().match(/plk_local_/g)?.length, 1, 'the key is printed once')
  t.notMatch(stderr, /NodeVersionSupportWarning/, 'no AWS SDK Node version warning on the terminal')

  child.kill('SIGINT')
  const [code] = await exited
  t.equal(code, 0, 'exits cleanly')
  await t.rejects(fetch(`${first.endpoint}/moto-api/data.json`), 'the emulator is gone')
  await t.rejects(fetch(`${second.url}/health`), 'the server is gone')
})

t.test('SIGTERM to npm alone (which does not pass it on) stops npm run dev, its server and its emulators', async (t) => {
  const env: Record<string, string | undefined> = { ...process.env, PORT: '0', LOG_LEVEL: 'info' }
  delete env.AWS_ENDPOINT_URL
  delete env.AWS_ENDPOINT_URL_DYNAMODB
  const npm = spawn('npm', ['run', 'dev', '--silent'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
  const pid = npm.pid as number
  let processes: number[] = []
  t.teardown(() => { for (const each of [pid, ...processes]) if (isRunning(each)) process.kill(each, 'SIGKILL') })
  const exited = once(npm, 'exit')
  npm.stderr.resume()
  const out = followStdout(npm.stdout)
  const { listening } = out
  const started = await waitFor(() => listening[0], 60_000)
  processes = descendants(pid)
  t.ok(processes.length >= 4, `npm runs the dev script, which runs the server and the emulators (${processes.length} processes)`)

  npm.kill('SIGTERM')
  await exited
  await waitFor(() => processes.every((each) => !isRunning(each)) ? true : undefined, 20_000)
  t.match(out.text(), /the process that started this one is gone; stopping/, 'the dev script noticed npm was gone')
  await t.rejects(fetch(`${started.endpoint}/moto-api/data.json`), 'the emulator is gone')
  await t.rejects(fetch(`${started.url}/health`), 'the server is gone')
})
