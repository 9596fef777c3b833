import { once } from 'node:events'
import { createServer, type AddressInfo } from 'node:net'
import t from 'tap'
import { startServer, waitForLine } from './helpers/server.js'

// `npm start` as a user runs it: a real process that starts its own emulators, its data in a
// temporary folder (test/helpers/server.ts), never in the checkout's .paylith/.

t.test('npm start serves /health and /ready on its own emulator, and SIGTERM leaves nothing running', async (t) => {
  const server = startServer({})
  t.teardown(() => { server.child.kill('SIGKILL') })
  const started = await waitForLine(server.lines, (line) => typeof line.url === 'string' && typeof line.endpoint === 'string')
  const url = started.url as string
  const endpoint = started.endpoint as string

  const health = await fetch(`${url}/health`)
  t.equal(health.status, 200)
  t.same(await health.json(), { status: 'ok' })
  const ready = await fetch(`${url}/ready`)
  t.equal(ready.status, 200)

  server.child.kill('SIGTERM')
  const [code] = await server.exited
  t.equal(code, 0, 'exits cleanly')
  t.ok(server.lines.some((line) => line.msg === 'stopped'))
  await t.rejects(fetch(`${endpoint}/moto-api/data.json`), 'the emulator is gone')
  await t.rejects(fetch(`${url}/health`), 'the server is gone')
})

t.test('npm start without its emulator command names the command configured, in one line, and exits non-zero', async (t) => {
  const server = startServer({ LOCAL_EMULATOR_COMMAND: '/nonexistent/moto_server' })
  const [code] = await server.exited
  t.equal(code, 1)
  t.equal(server.stderr().trim().split('\n').length, 1, 'one line')
  t.match(server.stderr(), /LOCAL_EMULATOR_COMMAND is \/nonexistent\/moto_server, which was not found: fix or unset it \(the default is moto_server, installed with `pipx install "moto\[server\]"`\), or set AWS_ENDPOINT_URL/)
})

t.test('a second npm start on a busy port says which port is taken and how to choose another, in one line, and exits 1', async (t) => {
  const busy = createServer()
  busy.listen(0, '127.0.0.1')
  await once(busy, 'listening')
  t.teardown(() => { busy.close() })
  const { port } = busy.address() as AddressInfo
  const server = startServer({ PORT: String(port), HOST: '127.0.0.1' })
  t.teardown(() => { server.child.kill('SIGKILL') })
  const [code] = await server.exited
  t.equal(code, 1)
  t.equal(server.stderr(), `paylith: port ${port} on 127.0.0.1 is already in use (another paylith?): stop it, or choose another port with PORT, e.g. PORT=${port + 1} npm start\n`)
})

t.test('npm start with bad configuration lists every problem and exits non-zero', async (t) => {
  const server = startServer({ PORT: 'abc', MAX_RECEIVE_COUNT: '-1' })
  const [code] = await server.exited
  t.equal(code, 1)
  t.match(server.stderr(), /Invalid configuration \(2 problems\)/)
  t.match(server.stderr(), /PORT: expected an integer from 0 \(any free port\) to 65535, found "abc"/)
  t.match(server.stderr(), /MAX_RECEIVE_COUNT: expected an integer from 1 to 1000, found "-1"/)
})
