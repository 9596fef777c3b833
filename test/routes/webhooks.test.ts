import { createHash, createHmac, randomBytes } from 'node:crypto'
import { Writable } from 'node:stream'
import { GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb'
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { unmarshall } from '@aws-sdk/util-dynamodb'
import { Webhook } from 'standardwebhooks'
import Stripe from 'stripe'
import t from 'tap'
import { secretsManagerFetcher } from '../../src/aws/secrets-manager.js'
import { createLocalContext } from '../../src/local/lambda-context.js'
import { createLogger } from '../../src/observability/logger.js'
import { jsonLines } from '../helpers/lines.js'
import { localAwsEndpoint } from '../helpers/aws.js'
import { build, closedEndpoint, type Built } from '../helpers/build.js'
import { httpApiEvent } from '../helpers/events.js'

const STRIPE_SECRET = 'whsec_stripe_route_test_secret'
const STANDARD_SECRET = `whsec_${Buffer.from('standard route test secret 32b!').toString('base64')}`
const WEBHOOK_SECRETS = `stripe=${STRIPE_SECRET},standard=${STANDARD_SECRET}`
const stripe = new Stripe('sk_test_unused')

function stripeEvent (id: string, type = 'payment_intent.succeeded', object: Record<string, unknown> = { id: 'pi_123', metadata: { paymentId: 'pay_01JDQ3V0J6Q8ZC7W8E5T0R2N4M' } }): string {
  return JSON.stringify({ id, object: 'event', type, data: { object } }, null, 2)
}

function stripeDelivery (body: string, secret = STRIPE_SECRET, timestamp = Math.floor(Date.now() / 1000)) {
  return {
    method: 'POST' as const,
    url: '/v1/webhooks/stripe',
    headers: { 'content-type': 'application/json', 'stripe-signature': stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp }) },
    payload: body
  }
}

function standardHeaders (id: string, body: string, secret = STANDARD_SECRET, at = new Date()) {
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, at, body)
  }
}

/** Standard Webhooks headers signed over raw bytes (the library signs strings only). */
function standardHeadersForBytes (id: string, body: Buffer, at = new Date()) {
  const timestamp = String(Math.floor(at.getTime() / 1000))
  const key = Buffer.from(STANDARD_SECRET.slice('whsec_'.length), 'base64')
  const signature = createHmac('sha256', key).update(Buffer.concat([Buffer.from(`${id}.${timestamp}.`), body])).digest('base64')
  return { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${signature}` }
}

async function storedWebhooks (built: Built): Promise<Array<Record<string, unknown>>> {
  const { Items = [] } = await built.deps.dynamodb.send(new ScanCommand({ TableName: built.config.tableName }))
  return Items.map((item) => unmarshall(item)).filter((item) => String(item.pk).startsWith('WEBHOOK#'))
}

function captureLogs () {
  const lines: Array<Record<string, unknown>> = []
  const raw: string[] = []
  const sink = new Writable({ write (chunk, _encoding, done) { raw.push(String(chunk)); lines.push(JSON.parse(String(chunk))); done() } })
  const metrics = jsonLines()
  return { logger: createLogger({ logLevel: 'info' }, sink), lines, raw, documents: metrics.lines, deps: { metricsDestination: metrics.sink } }
}

t.test('a Stripe event signed by the stripe library is stored once, normalised, and answered 200', async (t) => {
  const built = await build(t, { env: { WEBHOOK_SECRETS } })
  const body = stripeEvent('evt_stripe_1')
  const response = await built.app.inject(stripeDelivery(body))
  t.equal(response.statusCode, 200)
  t.same(response.json(), { received: true })

  const { Item } = await built.deps.dynamodb.send(new GetItemCommand({ TableName: built.config.tableName, Key: { pk: { S: 'WEBHOOK#stripe#evt_stripe_1' }, sk: { S: 'WEBHOOK' } } }))
  t.match(unmarshall(Item ?? {}), {
    provider: 'stripe',
    eventId: 'evt_stripe_1',
    providerType: 'payment_intent.succeeded',
    type: 'payment.succeeded',
    paymentId: 'pay_01JDQ3V0J6Q8ZC7W8E5T0R2N4M',
    providerRef: 'pi_123',
    payloadSha256: createHash('sha256').update(body).digest('hex'),
    receivedAt: /^\d{4}-/,
    expiresAt: Number
  })
  t.equal(Buffer.from(unmarshall(Item ?? {}).payload as Uint8Array).toString('utf8'), body, 'the raw body, as bytes')
  const expiresIn = Number(unmarshall(Item ?? {}).expiresAt) - Date.now() / 1000
  t.ok(Math.abs(expiresIn - 30 * 86_400) < 60, 'kept for 30 days by default')
})

t.test('Stripe failures and refunds are normalised; the refund names its payment intent', async (t) => {
  const built = await build(t, { env: { WEBHOOK_SECRETS } })
  await built.app.inject(stripeDelivery(stripeEvent('evt_fail', 'payment_intent.payment_failed', { id: 'pi_9', metadata: { paymentId: 'pay_x' }, last_payment_error: { code: 'card_declined' } })))
  await built.app.inject(stripeDelivery(stripeEvent('evt_refund', 'charge.refunded', { id: 'ch_1', object: 'charge', payment_intent: 'pi_9', amount: 2000, amount_refunded: 2000, refunded: true, currency: 'eur', metadata: {} })))
  const stored = await storedWebhooks(built)
  t.match(stored.find((item) => item.eventId === 'evt_fail'), { type: 'payment.failed', paymentId: 'pay_x', providerRef: 'pi_9', reason: 'card_declined' })
  t.match(stored.find((item) => item.eventId === 'evt_refund'), { type: 'payment.refunded', providerRef: 'pi_9', amountRefunded: 2000 })
})

t.test('a Stripe charge.refunded for part of the amount is a partial refund, in ISO minor units, not a full one', async (t) => {
  const built = await build(t, { env: { WEBHOOK_SECRETS } })
  await built.app.inject(stripeDelivery(stripeEvent('evt_partial', 'charge.refunded', { id: 'ch_2', object: 'charge', payment_intent: 'pi_10', amount: 500_000, amount_refunded: 100_000, refunded: false, currency: 'isk', metadata: { paymentId: 'pay_isk' } })))
  t.match((await storedWebhooks(built)).find((item) => item.eventId === 'evt_partial'), { type: 'payment.partially_refunded', paymentId: 'pay_isk', providerRef: 'pi_10', amountRefunded: 1000 })
})

t.test('a Standard Webhook signed by the standardwebhooks library is stored by its webhook-id', async (t) => {
  const built = await build(t, { env: { WEBHOOK_SECRETS } })
  const body = JSON.stringify({ type: 'payment.failed', data: { paymentId: 'pay_abc', reason: 'insufficient_funds' } })
  const response = await built.app.inject({ method: 'POST', url: '/v1/webhooks/standard', headers: standardHeaders('msg_1', body), payload: body })
  t.equal(response.statusCode, 200)
  t.match(await storedWebhooks(built), [{ pk: 'WEBHOOK#standard#msg_1', type: 'payment.failed', paymentId: 'pay_abc', reason: 'insufficient_funds' }])
})

t.test('an event type we do not act on is stored, acknowledged and marked ignored', async (t) => {
  const built = await build(t, { env: { WEBHOOK_SECRETS } })
  const response = await built.app.inject(stripeDelivery(stripeEvent('evt_other', 'customer.created', { id: 'cus_1' })))
  t.equal(response.statusCode, 200)
  t.match(await storedWebhooks(built), [{ eventId: 'evt_other', type: 'ignored', providerType: 'customer.created' }])
})

t.test('a duplicate delivery, sequential or concurrent, is answered the same and stored once', async (t) => {
  const { logger, documents, deps } = captureLogs()
  const built = await build(t, { env: { WEBHOOK_SECRETS }, logger, deps })
  const body = stripeEvent('evt_dup')
  const first = await built.app.inject(stripeDelivery(body))
  const second = await built.app.inject(stripeDelivery(body))
  t.same([first.statusCode, second.statusCode], [200, 200])
  t.same(second.json(), { received: true })

  const concurrentBody = stripeEvent('evt_concurrent')
  const responses = await Promise.all(Array.from({ length: 10 }, () => built.app.inject(stripeDelivery(concurrentBody))))
  t.ok(responses.every((r) => r.statusCode === 200), 'all 10 answered 200')
  const stored = await storedWebhooks(built)
  t.equal(stored.filter((item) => item.eventId === 'evt_concurrent').length, 1, 'exactly one stored event')
  const accepted = documents.filter((line) => line.WebhookAccepted === 1 && line.provider === 'stripe').length
  const duplicates = documents.filter((line) => line.WebhookDuplicate === 1).length
  t.equal(accepted, 2, 'one accepted metric per distinct event')
  t.equal(duplicates, 10, 'one duplicate for the sequential repeat, nine for the concurrent ones')
})

t.test('rejections are 400 problems with distinct types, store nothing, and are logged without secrets or body', async (t) => {
  const { logger, lines, raw, documents, deps } = captureLogs()
  const built = await build(t, { env: { WEBHOOK_SECRETS }, logger, deps })
  const body = stripeEvent('evt_rejected')
  const cases: Array<[string, Record<string, string>, string]> = [
    ['missing header', { 'content-type': 'application/json' }, 'webhook-missing-header'],
    ['garbled header', { 'content-type': 'application/json', 'stripe-signature': 'nonsense' }, 'webhook-malformed-header'],
    ['old timestamp', stripeDelivery(body, STRIPE_SECRET, Math.floor(Date.now() / 1000) - 301).headers, 'webhook-timestamp-out-of-tolerance'],
    ['wrong secret', stripeDelivery(body, 'whsec_wrong').headers, 'webhook-no-matching-signature']
  ]
  for (const [name, headers, type] of cases) {
    const response = await built.app.inject({ method: 'POST', url: '/v1/webhooks/stripe', headers, payload: body })
    t.equal(response.statusCode, 400, name)
    t.match(response.headers['content-type'], /^application\/problem\+json/)
    t.equal(response.json().type, `https://paylith.dev/problems/${type}`, name)
  }
  const tampered = stripeDelivery(body)
  const tamperedResponse = await built.app.inject({ ...tampered, payload: body.replace('pi_123', 'pi_999') })
  t.equal(tamperedResponse.json().type, 'https://paylith.dev/problems/webhook-no-matching-signature', 'tampered body')

  t.same(await storedWebhooks(built), [], 'nothing stored')
  t.equal(lines.filter((line) => line.msg === 'webhook rejected').length, 5, 'each rejection logged')
  t.equal(documents.filter((line) => line.WebhookRejected === 1).length, 5, 'each rejection counted')
  t.notMatch(raw.join(''), /whsec_|pi_123|evt_rejected/, 'no secret and no body in the logs')
})

t.test('a Standard Webhook with an empty or truncated signature is 400 and stores nothing', async (t) => {
  const built = await build(t, { env: { WEBHOOK_SECRETS } })
  const body = JSON.stringify({ type: 'payment.succeeded', data: { paymentId: 'pay_forged' } })
  const headers = standardHeaders('msg_forged', body)
  const truncated = headers['webhook-signature'].slice(0, 'v1,'.length + 8)
  for (const signature of ['v1,=', truncated]) {
    const response = await built.app.inject({ method: 'POST', url: '/v1/webhooks/standard', headers: { ...headers, 'webhook-signature': signature }, payload: body })
    t.equal(response.statusCode, 400, signature)
    t.match(response.headers['content-type'], /^application\/problem\+json/)
    t.match(response.json(), { type: 'https://paylith.dev/problems/webhook-no-matching-signature', status: 400, title: 'Webhook Signature Mismatch' })
  }
  t.same(await storedWebhooks(built), [], 'nothing stored')
})

t.test('no API key is needed, an unknown provider is 404, an unconfigured one too', async (t) => {
  const built = await build(t, { env: { WEBHOOK_SECRETS: `stripe=${STRIPE_SECRET}` } })
  const unknown = await built.app.inject({ method: 'POST', url: '/v1/webhooks/paypal', headers: { 'content-type': 'application/json' }, payload: '{}' })
  t.equal(unknown.statusCode, 404)
  t.match(unknown.json(), { type: 'https://paylith.dev/problems/not-found', detail: /no webhook provider "paypal"/ })
  const unconfigured = await built.app.inject({ method: 'POST', url: '/v1/webhooks/standard', headers: { 'content-type': 'application/json' }, payload: '{}' })
  t.equal(unconfigured.statusCode, 404)
  t.equal((await built.app.inject(stripeDelivery(stripeEvent('evt_noauth')))).statusCode, 200, 'no Authorization header needed')
})

t.test('a body over 256 KB is 413', async (t) => {
  const built = await build(t, { env: { WEBHOOK_SECRETS } })
  const body = JSON.stringify({ id: 'evt_big', type: 'x', pad: 'x'.repeat(257 * 1024) })
  const response = await built.app.inject(stripeDelivery(body))
  t.equal(response.statusCode, 413)
  t.equal(response.json().type, 'https://paylith.dev/problems/payload-too-large')
})

t.test('a verified payload that is not a readable event is 400 and stores nothing', async (t) => {
  const built = await build(t, { env: { WEBHOOK_SECRETS } })
  for (const body of ['not json', '[1,2]', '{"type":"payment_intent.succeeded"}']) {
    const response = await built.app.inject(stripeDelivery(body))
    t.equal(response.statusCode, 400)
    t.equal(response.json().type, 'https://paylith.dev/problems/webhook-malformed-payload')
  }
  t.same(await storedWebhooks(built), [])
})

t.test('a base64-encoded body from API Gateway verifies through lambda.ts\'s handler', async (t) => {
  const built = await build(t, { env: { WEBHOOK_SECRETS } })
  const { handler } = built
  const body = JSON.stringify({ type: 'payment.succeeded', data: { providerRef: 'ref_1' } }) + '\n'
  const event = httpApiEvent({ method: 'POST', path: '/v1/webhooks/standard', headers: standardHeaders('msg_base64', body), body, base64: true })
  const response = await handler(event, createLocalContext('paylith-test', 30_000)) as { statusCode: number, body: string }
  t.equal(response.statusCode, 200, response.body)
  t.match(await storedWebhooks(built), [{ eventId: 'msg_base64' }])
  t.equal(Buffer.from((await built.deps.webhooks.get('standard', 'msg_base64'))?.payload ?? []).toString('utf8'), body)
})

t.test('secrets from Secrets Manager are cached, and a rotation is picked up after a failure, at most once a minute', async (t) => {
  const endpoint = await localAwsEndpoint()
  const secretsManager = new SecretsManagerClient({ region: 'us-east-1', endpoint })
  const name = `paylith-webhooks-${Date.now()}`
  const { ARN } = await secretsManager.send(new CreateSecretCommand({ Name: name, SecretString: `standard=${STANDARD_SECRET}` }))
  let now = new Date()
  const built = await build(t, { env: { WEBHOOK_SECRETS_ARN: ARN ?? '', WEBHOOK_TOLERANCE_SECONDS: '3600' }, deps: { clock: () => now } })
  const deliver = (id: string, secret: string) => {
    const body = JSON.stringify({ type: 'payment.succeeded', data: { providerRef: id } })
    return built.app.inject({ method: 'POST', url: '/v1/webhooks/standard', headers: standardHeaders(id, body, secret, now), payload: body })
  }

  t.equal((await deliver('msg_a', STANDARD_SECRET)).statusCode, 200, 'the stored secret verifies')
  const rotated = `whsec_${Buffer.from('the rotated standard secret!!').toString('base64')}`
  await secretsManager.send(new PutSecretValueCommand({ SecretId: ARN, SecretString: `standard=${STANDARD_SECRET},standard=${rotated}` }))

  now = new Date(now.getTime() + 10_000)
  t.equal((await deliver('msg_b', rotated)).statusCode, 400, 'within a minute of the last fetch, no refetch')
  now = new Date(now.getTime() + 61_000)
  t.equal((await deliver('msg_c', rotated)).statusCode, 200, 'after a minute, a failure refetches and the new secret verifies')
  t.equal((await deliver('msg_d', STANDARD_SECRET)).statusCode, 200, 'the old secret still works during the rotation')
})

t.test('webhook secrets that cannot be read are a 503, counted as SecretUnavailable (secret webhook-secrets), never a 500 or a 400', async (t) => {
  const nowhere = await closedEndpoint()
  const { logger, documents, deps } = captureLogs()
  const built = await build(t, { env: { WEBHOOK_SECRETS_ARN: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:paylith-webhooks-AbCdEf' }, logger, deps: { ...deps, secretFetcher: (secretId) => secretsManagerFetcher({ secretId, region: 'us-east-1', endpoint: nowhere }) } })
  const body = JSON.stringify({ type: 'payment.succeeded', data: { providerRef: 'ref_down' } })
  const response = await built.app.inject({ method: 'POST', url: '/v1/webhooks/standard', headers: standardHeaders('msg_down', body), payload: body })
  t.equal(response.statusCode, 503, response.body)
  t.match(response.json(), { type: 'https://paylith.dev/problems/dependency-unavailable' })
  t.match(documents.filter((document) => document.SecretUnavailable === 1), [{ secret: 'webhook-secrets', fallback: 'none' }], 'one document, with the dimensions the SecretsUnavailable alarm sums')
  t.same(await storedWebhooks(built), [], 'nothing stored: the sender retries')
})

t.test('an event id, payment id or provider reference too long to store is 422, counted, and stores nothing', async (t) => {
  const { logger, documents, deps } = captureLogs()
  const built = await build(t, { env: { WEBHOOK_SECRETS }, logger, deps })
  const longId = `evt_${'x'.repeat(2100)}`
  const byStripe = await built.app.inject(stripeDelivery(stripeEvent(longId)))
  t.equal(byStripe.statusCode, 422)
  t.match(byStripe.headers['content-type'], /^application\/problem\+json/)
  t.match(byStripe.json(), { type: 'https://paylith.dev/problems/webhook-reference-too-long', status: 422, code: 'PAYLITH_WEBHOOK_REFERENCE_TOO_LONG', detail: /eventId is 2104 characters long; at most 255/ })

  const body = JSON.stringify({ type: 'payment.succeeded', data: { paymentId: 'pay_1' } })
  const byHeader = await built.app.inject({ method: 'POST', url: '/v1/webhooks/standard', headers: standardHeaders(`msg_${'y'.repeat(2100)}`, body), payload: body })
  t.equal(byHeader.statusCode, 422, 'a webhook-id header too long')

  const longRef = JSON.stringify({ type: 'payment.succeeded', data: { providerRef: 'r'.repeat(256) } })
  t.equal((await built.app.inject({ method: 'POST', url: '/v1/webhooks/standard', headers: standardHeaders('msg_long_ref', longRef), payload: longRef })).statusCode, 422, 'a provider reference too long')
  const atLimit = JSON.stringify({ type: 'payment.succeeded', data: { providerRef: 'r'.repeat(255) } })
  t.equal((await built.app.inject({ method: 'POST', url: '/v1/webhooks/standard', headers: standardHeaders('m'.repeat(255), atLimit), payload: atLimit })).statusCode, 200, '255 characters are fine')

  t.same((await storedWebhooks(built)).map((item) => item.eventId), ['m'.repeat(255)], 'only the one at the limit is stored')
  t.equal(documents.filter((document) => document.WebhookRejected === 1 && document.reason === 'reference-too-long').length, 3, 'each refusal counted')
})

t.test('the largest body, not even UTF-8, is stored whole as bytes under the item limit and read back the same', async (t) => {
  const built = await build(t, { env: { WEBHOOK_SECRETS } })
  // 256 KB exactly (the body limit), nearly all of it a reason of random bytes that are not
  // UTF-8: as a string it would grow threefold, twice over (payload and reason), past 400 KB.
  const head = Buffer.from('{"type":"payment.failed","data":{"paymentId":"pay_biggest","reason":"')
  const tail = Buffer.from('"}}')
  const filler = Buffer.from([...randomBytes(256 * 1024 - head.length - tail.length)].map((byte) => 0x80 | byte))
  const body = Buffer.concat([head, filler, tail])
  t.equal(body.length, 256 * 1024)

  const response = await built.app.inject({ method: 'POST', url: '/v1/webhooks/standard', headers: standardHeadersForBytes('msg_biggest', body), payload: body })
  t.equal(response.statusCode, 200, response.body)
  const stored = await built.deps.webhooks.get('standard', 'msg_biggest')
  t.ok(stored !== undefined && Buffer.from(stored.payload).equals(body), 'the exact bytes received')
  t.match(stored, { type: 'payment.failed', paymentId: 'pay_biggest' })
  t.equal(stored?.reason?.length, 500, 'the reason is cut; the payload keeps it whole')
})

t.test('a large payload is stored compressed, with its SHA-256, and read back the same', async (t) => {
  const built = await build(t, { env: { WEBHOOK_SECRETS } })
  const body = JSON.stringify({ id: 'evt_compressible', type: 'customer.updated', data: { object: { id: 'cus_1', notes: 'n'.repeat(200 * 1024) } } })
  t.equal((await built.app.inject(stripeDelivery(body))).statusCode, 200)
  const { Item } = await built.deps.dynamodb.send(new GetItemCommand({ TableName: built.config.tableName, Key: { pk: { S: 'WEBHOOK#stripe#evt_compressible' }, sk: { S: 'WEBHOOK' } } }))
  const item = unmarshall(Item ?? {})
  t.equal(item.payloadEncoding, 'gzip')
  t.ok((item.payload as Uint8Array).byteLength < 10 * 1024, 'stored compressed')
  t.equal(item.payloadSha256, createHash('sha256').update(body).digest('hex'))
  t.equal(Buffer.from((await built.deps.webhooks.get('stripe', 'evt_compressible'))?.payload ?? []).toString('utf8'), body)
})
