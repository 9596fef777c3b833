import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import t from 'tap'
import { secretsManagerFetcher } from '../../src/aws/secrets-manager.js'
import { hashApiKey } from '../../src/config/api-keys.js'
import { createLogger } from '../../src/observability/logger.js'
import { localAwsEndpoint } from '../helpers/aws.js'
import { build, closedEndpoint, type Teardownable } from '../helpers/build.js'
import { jsonLines } from '../helpers/lines.js'

// API keys from a Secrets Manager secret (API_KEYS_SECRET_ARN) on moto, read by the real SDK.
// Reads are counted by wrapping the production fetcher; an outage is the same fetcher pointed
// at a port nothing listens on.

const KEY = 'plk_test_from_the_secret'
const NEW_KEY = 'plk_test_added_after_start'
const entry = (key: string, scopes = 'payments:read|payments:write') => `${hashApiKey(key)}=${scopes}`
/** A route that needs `payments:read`: 404 once the key is accepted (no such payment). */
const READ_URL = '/v1/payments/pay_01JDQ3V0J6Q8ZC7W8E5T0R2N4M'

async function createSecret (text: string): Promise<{ arn: string, put: (text: string) => Promise<unknown> }> {
  const secretsManager = new SecretsManagerClient({ region: 'us-east-1', endpoint: await localAwsEndpoint() })
  const { ARN = '' } = await secretsManager.send(new CreateSecretCommand({ Name: `paylith-api-keys-${Date.now()}-${Math.random().toString(36).slice(2)}`, SecretString: text }))
  return { arn: ARN, put: (value) => secretsManager.send(new PutSecretValueCommand({ SecretId: ARN, SecretString: value })) }
}

/** The app reading its API keys from `arn`, with a clock the test moves and Secrets Manager reads counted (and cut with `down`). */
async function buildWithSecret (t: Teardownable, arn: string) {
  const endpoint = await localAwsEndpoint()
  const nowhere = await closedEndpoint()
  const state = { reads: 0, down: false, now: new Date('2026-01-01T00:00:00Z') }
  const logs = jsonLines()
  const metrics = jsonLines()
  const built = await build(t, {
    env: { API_KEYS: '', API_KEYS_SECRET_ARN: arn },
    logger: createLogger({ logLevel: 'info' }, logs.sink),
    deps: {
      clock: () => state.now,
      metricsDestination: metrics.sink,
      secretFetcher: (secretId) => {
        const up = secretsManagerFetcher({ secretId, region: 'us-east-1', endpoint })
        const down = secretsManagerFetcher({ secretId, region: 'us-east-1', endpoint: nowhere })
        return async () => {
          state.reads++
          return await (state.down ? down : up)()
        }
      }
    }
  })
  const read = (key: string) => built.app.inject({ method: 'GET', url: READ_URL, headers: { authorization: `Bearer ${key}` } })
  const advance = (seconds: number) => { state.now = new Date(state.now.getTime() + seconds * 1000) }
  return { built, state, read, advance, logs: logs.lines, documents: metrics.lines }
}

t.test('a key in the secret is accepted, and a key added to the secret after start works after the refresh, without a redeploy', async (t) => {
  const secret = await createSecret(entry(KEY))
  const { state, read, advance } = await buildWithSecret(t, secret.arn)
  t.equal((await read(KEY)).statusCode, 404, 'the key from the secret authenticates (no such payment)')
  await secret.put(`${entry(KEY)},${entry(NEW_KEY)}`)

  advance(10)
  const early = await read(NEW_KEY)
  t.equal(early.statusCode, 401, 'within a minute of the last read, the secret is not read again')
  advance(51)
  t.equal((await read(NEW_KEY)).statusCode, 404, 'a minute after it, the unknown key makes one read and is found')
  t.equal((await read(KEY)).statusCode, 404, 'the first key still works')
  t.equal(state.reads, 2)
})

t.test('a burst of unknown keys reads the secret at most once a minute, and each is a 401 problem', async (t) => {
  const secret = await createSecret(entry(KEY))
  const { state, read, advance } = await buildWithSecret(t, secret.arn)
  const burst = async (size: number) => await Promise.all(Array.from({ length: size }, (_, i) => read(`plk_forged_${i}`)))

  const first = await burst(100)
  t.equal(state.reads, 1, 'the first burst: the one read that loads the keys')
  t.ok(first.every((response) => response.statusCode === 401))
  t.match(first[0]?.headers['content-type'], /^application\/problem\+json/)
  t.equal(first[0]?.headers['www-authenticate'], 'Bearer')
  t.match(first[0]?.json(), { type: 'https://paylith.dev/problems/unauthorized', status: 401, code: 'PAYLITH_AUTH_UNAUTHORIZED' })

  advance(30)
  await burst(100)
  t.equal(state.reads, 1, 'half a minute later: no read')
  advance(31)
  const second = await burst(100)
  t.equal(state.reads, 2, 'a minute after the last read: one read for the whole burst')
  t.ok(second.every((response) => response.statusCode === 401))
  advance(59)
  await burst(100)
  t.equal(state.reads, 2, 'and none again within that minute')
  t.equal((await read(KEY)).statusCode, 404, 'a good key is never held up by it')
})

t.test('a secret of 600 keys (about 60 KB, fifteen times what Lambda allows for all environment variables) is read, and each key works', async (t) => {
  const keys = Array.from({ length: 600 }, (_, i) => `plk_test_many_${i}`)
  const text = keys.map((key) => entry(key, 'payments:read|payments:write|admin')).join(',')
  t.ok(text.length > 59_000 && text.length < 65_536, `${text.length} bytes: within a secret's 64 KB`)
  const secret = await createSecret(text)
  const { read, state } = await buildWithSecret(t, secret.arn)
  for (const key of [keys[0], keys[299], keys[599]]) t.equal((await read(key ?? '')).statusCode, 404, 'accepted')
  t.equal(state.reads, 1)
})

t.test('without an Authorization header nothing is read: 401 at once', async (t) => {
  const secret = await createSecret(entry(KEY))
  const { built, state } = await buildWithSecret(t, secret.arn)
  t.equal((await built.app.inject({ method: 'GET', url: READ_URL })).statusCode, 401)
  t.equal(state.reads, 0)
})

t.test('when Secrets Manager fails, the cached keys keep working, an unknown key is 503 (not 401), and it is logged and counted', async (t) => {
  const secret = await createSecret(entry(KEY))
  const { state, read, advance, logs, documents } = await buildWithSecret(t, secret.arn)
  t.equal((await read(KEY)).statusCode, 404)
  state.down = true
  advance(301)

  t.equal((await read(KEY)).statusCode, 404, 'the cache expired and the read failed: the last keys read stay in use')
  t.equal(state.reads, 2)
  t.match(logs.filter((line) => line.level === 50), [{ secret: 'api-keys', fallback: 'cached', msg: /could not read the API keys from Secrets Manager; the last ones read stay in use/ }])
  t.match(documents.filter((document) => document.SecretUnavailable === 1), [{ secret: 'api-keys', fallback: 'cached' }])

  const unknown = await read(NEW_KEY)
  t.equal(unknown.statusCode, 503, 'an unknown key may be one added during the outage: not a 401')
  t.match(unknown.headers['content-type'], /^application\/problem\+json/)
  t.match(unknown.json(), { type: 'https://paylith.dev/problems/dependency-unavailable', status: 503, code: 'PAYLITH_DEPENDENCY_UNAVAILABLE', detail: /the API keys could not be read/ })
  t.equal(state.reads, 2, 'within the minute of the failed read, no read')
  t.equal((await read(KEY)).statusCode, 404, 'the known key still works')

  state.down = false
  await secret.put(`${entry(KEY)},${entry(NEW_KEY)}`)
  advance(60)
  t.equal((await read(NEW_KEY)).statusCode, 404, 'once Secrets Manager answers again, the new key is found')
  t.equal((await read('plk_forged')).statusCode, 401, 'and an unknown key is a 401 again')
  t.equal(state.reads, 3)
})

t.test('with no keys ever read and Secrets Manager down, a request is a 503 problem, never a 500 or a 401', async (t) => {
  const secret = await createSecret(entry(KEY))
  const { state, read, logs, documents } = await buildWithSecret(t, secret.arn)
  state.down = true
  const response = await read(KEY)
  t.equal(response.statusCode, 503)
  t.match(response.json(), { type: 'https://paylith.dev/problems/dependency-unavailable', status: 503, detail: /the API keys could not be read from Secrets Manager/ })
  t.match(documents.filter((document) => document.SecretUnavailable === 1), [{ secret: 'api-keys', fallback: 'none' }])
  t.match(logs.filter((line) => line.level === 50), [{ secret: 'api-keys', fallback: 'none' }])
  t.equal((await read(KEY)).statusCode, 503)
  t.equal(state.reads, 1, 'one read a minute, however many requests wait for it')
})

t.test('a secret that does not hold valid entries is refused whole: 503, and the log names the secret and the entry, never its text', async (t) => {
  const secret = await createSecret(`${entry(KEY)},plk_live_raw_key_pasted=admin`)
  const { read, logs } = await buildWithSecret(t, secret.arn)
  t.equal((await read(KEY)).statusCode, 503, 'no key from a malformed secret is trusted')
  const [error] = logs.filter((line) => line.level === 50)
  t.match((error?.err as { message?: string } | undefined)?.message, `API_KEYS_SECRET_ARN secret ${secret.arn} entry 2: expected <sha256 hex of the key (64 hex digits)>=<scope>|<scope>, found something else (not shown, it may be a secret)`)
  t.notMatch(JSON.stringify(logs), /plk_live_raw_key_pasted/)
})

t.test('an empty secret (as after the first deploy, before its value is set) is refused with a clear error', async (t) => {
  const secret = await createSecret(' ')
  const { read, logs } = await buildWithSecret(t, secret.arn)
  t.equal((await read(KEY)).statusCode, 503)
  t.match(logs.filter((line) => line.level === 50), [{ err: { message: `API_KEYS_SECRET_ARN secret ${secret.arn}: expected comma-separated <sha256 hex of the key>=<scope>|<scope> entries, found none` } }])
})

t.test('with a bad edit of the secret, the last good keys stay in use', async (t) => {
  const secret = await createSecret(entry(KEY))
  const { read, advance, documents } = await buildWithSecret(t, secret.arn)
  t.equal((await read(KEY)).statusCode, 404)
  await secret.put(KEY)
  advance(301)
  t.equal((await read(KEY)).statusCode, 404)
  t.match(documents.filter((document) => document.SecretUnavailable === 1), [{ secret: 'api-keys', fallback: 'cached' }])
})

t.test('the scopes in the secret are enforced like those of API_KEYS', async (t) => {
  const secret = await createSecret(entry(KEY, 'payments:write'))
  const { read } = await buildWithSecret(t, secret.arn)
  const response = await read(KEY)
  t.equal(response.statusCode, 403)
  t.match(response.json(), { type: 'https://paylith.dev/problems/forbidden', detail: 'this API key lacks the payments:read scope' })
})
