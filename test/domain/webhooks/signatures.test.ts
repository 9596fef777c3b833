import { createHmac } from 'node:crypto'
import { Webhook } from 'standardwebhooks'
import Stripe from 'stripe'
import t, { type Test } from 'tap'
import { signStandardWebhook, verifyStandardWebhook } from '../../../src/domain/webhooks/signatures/standard-webhooks.js'
import { verifyStripeSignature } from '../../../src/domain/webhooks/signatures/stripe.js'

const now = new Date('2026-11-27T12:00:00Z')
const nowSeconds = Math.floor(now.getTime() / 1000)
const TOLERANCE = 300

// --- Stripe -------------------------------------------------------------------------------

const STRIPE_SECRET = 'whsec_test_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH'
const stripeBody = Buffer.from(JSON.stringify({ id: 'evt_1', object: 'event', type: 'payment_intent.succeeded' }, null, 2))
const stripe = new Stripe('sk_test_unused')

function stripeHeader (options: { secret?: string, timestamp?: number, payload?: Buffer } = {}): string {
  return stripe.webhooks.generateTestHeaderString({
    payload: (options.payload ?? stripeBody).toString('utf8'),
    secret: options.secret ?? STRIPE_SECRET,
    timestamp: options.timestamp ?? nowSeconds
  })
}

function verifyStripe (header: string | undefined, overrides: { body?: Buffer, secrets?: string[] } = {}): void {
  verifyStripeSignature({ header, rawBody: overrides.body ?? stripeBody, secrets: overrides.secrets ?? [STRIPE_SECRET], now, toleranceSeconds: TOLERANCE })
}

function rejects (t: Pick<Test, 'throws'>, fn: () => void, problem: string): void {
  t.throws(fn, { name: 'WebhookSignatureError', code: `PAYLITH_WEBHOOK_${problem.toUpperCase().replace(/-/g, '_')}`, data: { problem } }, problem)
}

t.test('Stripe: a header made by the official stripe library verifies', async (t) => {
  t.doesNotThrow(() => verifyStripe(stripeHeader()))
})

t.test('Stripe: the right signature among several wrong ones verifies; v0 is ignored', async (t) => {
  const good = /v1=([0-9a-f]{64})/.exec(stripeHeader())?.[1]
  t.doesNotThrow(() => verifyStripe(`t=${nowSeconds},v0=${'0'.repeat(64)},v1=${'a'.repeat(64)},v1=${good},v1=${'b'.repeat(64)}`))
})

t.test('Stripe: during a rotation the old and the new secret both verify', async (t) => {
  const secrets = ['whsec_old_secret', 'whsec_new_secret']
  t.doesNotThrow(() => verifyStripe(stripeHeader({ secret: 'whsec_old_secret' }), { secrets }))
  t.doesNotThrow(() => verifyStripe(stripeHeader({ secret: 'whsec_new_secret' }), { secrets }))
})

t.test('Stripe: rejections say which check failed', async (t) => {
  rejects(t, () => verifyStripe(undefined), 'missing-header')
  rejects(t, () => verifyStripe(''), 'missing-header')
  rejects(t, () => verifyStripe('garbage'), 'malformed-header')
  rejects(t, () => verifyStripe(`v1=${'a'.repeat(64)}`), 'malformed-header')
  rejects(t, () => verifyStripe(`t=soon,v1=${'a'.repeat(64)}`), 'malformed-header')
  rejects(t, () => verifyStripe(stripeHeader({ timestamp: nowSeconds - 301 })), 'timestamp-out-of-tolerance')
  rejects(t, () => verifyStripe(stripeHeader({ timestamp: nowSeconds + 301 })), 'timestamp-out-of-tolerance')
  t.doesNotThrow(() => verifyStripe(stripeHeader({ timestamp: nowSeconds - 300 })), '300 s old is still fine')
  t.doesNotThrow(() => verifyStripe(stripeHeader({ timestamp: nowSeconds + 300 })), '300 s ahead is still fine')
  rejects(t, () => verifyStripe(stripeHeader({ secret: 'whsec_wrong' })), 'no-matching-signature')
  rejects(t, () => verifyStripe(stripeHeader().replace('v1=', 'v1a=')), 'no-matching-signature')
  rejects(t, () => verifyStripe(stripeHeader().replace('v1=', 'v2=')), 'no-matching-signature')
})

t.test('Stripe: a truncated, empty or over-long v1 signature does not verify', async (t) => {
  const good = /v1=([0-9a-f]{64})/.exec(stripeHeader())?.[1] ?? ''
  rejects(t, () => verifyStripe(`t=${nowSeconds},v1=${good.slice(0, 32)}`), 'no-matching-signature')
  rejects(t, () => verifyStripe(`t=${nowSeconds},v1=${good.slice(0, 2)}`), 'no-matching-signature')
  rejects(t, () => verifyStripe(`t=${nowSeconds},v1=`), 'no-matching-signature')
  rejects(t, () => verifyStripe(`t=${nowSeconds},v1=${good}00`), 'no-matching-signature')
})

t.test('Stripe: a tampered or re-serialised body does not verify', async (t) => {
  const header = stripeHeader()
  rejects(t, () => verifyStripe(header, { body: Buffer.from(stripeBody.toString().replace('evt_1', 'evt_2')) }), 'no-matching-signature')
  const reserialised = Buffer.from(JSON.stringify(JSON.parse(stripeBody.toString())))
  t.not(reserialised.toString(), stripeBody.toString(), 'the re-serialised body differs only in whitespace')
  rejects(t, () => verifyStripe(header, { body: reserialised }), 'no-matching-signature')
})

t.test('Stripe: the key is the whole secret string, whsec_ prefix included', async (t) => {
  const signature = createHmac('sha256', STRIPE_SECRET).update(`${nowSeconds}.`).update(stripeBody).digest('hex')
  t.doesNotThrow(() => verifyStripe(`t=${nowSeconds},v1=${signature}`))
})

// --- Standard Webhooks ---------------------------------------------------------------------

const STANDARD_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
const standardBody = Buffer.from('{"type":"payment.succeeded","data":{"paymentId":"pay_1"}}')

function verifyStandard (headers: { id?: string, timestamp?: string, signature?: string }, overrides: { body?: Buffer, secrets?: string[], now?: Date } = {}): void {
  verifyStandardWebhook({
    ...headers,
    id: headers.id,
    timestamp: headers.timestamp,
    signature: headers.signature,
    rawBody: overrides.body ?? standardBody,
    secrets: overrides.secrets ?? [STANDARD_SECRET],
    now: overrides.now ?? now,
    toleranceSeconds: TOLERANCE
  })
}

function signed (options: { secret?: string, id?: string, timestamp?: number, body?: Buffer } = {}) {
  const id = options.id ?? 'msg_2Lh9KRb0pzN4LePd3XiA4'
  const timestamp = options.timestamp ?? nowSeconds
  const signature = new Webhook(options.secret ?? STANDARD_SECRET).sign(id, new Date(timestamp * 1000), options.body ?? standardBody)
  return { id, timestamp: String(timestamp), signature }
}

t.test('Standard Webhooks: the spec\'s published example verifies', async (t) => {
  t.doesNotThrow(() => verifyStandard({
    id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
    timestamp: '1614265330',
    signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='
  }, { body: Buffer.from('{"test": 2432232314}'), now: new Date(1614265330 * 1000) }))
})

t.test('Standard Webhooks: signatures made by the official standardwebhooks library verify', async (t) => {
  t.doesNotThrow(() => verifyStandard(signed()))
})

t.test('Standard Webhooks: our own signer matches the official library', async (t) => {
  const { id, timestamp, signature } = signed()
  t.equal(signStandardWebhook(STANDARD_SECRET, id, Number(timestamp), standardBody.toString()), signature)
})

t.test('Standard Webhooks: the right signature among several wrong or other-version ones verifies', async (t) => {
  const headers = signed()
  t.doesNotThrow(() => verifyStandard({ ...headers, signature: `v1,${'A'.repeat(44)} v2,abc ${headers.signature} v1,Zm9v` }))
})

t.test('Standard Webhooks: during a rotation the old and the new secret both verify', async (t) => {
  const next = 'whsec_' + Buffer.from('a brand new secret key!!').toString('base64')
  t.doesNotThrow(() => verifyStandard(signed({ secret: next }), { secrets: [STANDARD_SECRET, next] }))
  t.doesNotThrow(() => verifyStandard(signed(), { secrets: [STANDARD_SECRET, next] }))
})

t.test('Standard Webhooks: rejections say which check failed', async (t) => {
  const good = signed()
  rejects(t, () => verifyStandard({ ...good, id: undefined }), 'missing-header')
  rejects(t, () => verifyStandard({ ...good, timestamp: undefined }), 'missing-header')
  rejects(t, () => verifyStandard({ ...good, signature: undefined }), 'missing-header')
  rejects(t, () => verifyStandard({ ...good, timestamp: 'yesterday' }), 'malformed-header')
  rejects(t, () => verifyStandard({ ...good, signature: 'not-an-entry' }), 'malformed-header')
  rejects(t, () => verifyStandard(signed({ timestamp: nowSeconds - 301 })), 'timestamp-out-of-tolerance')
  rejects(t, () => verifyStandard(signed({ timestamp: nowSeconds + 301 })), 'timestamp-out-of-tolerance')
  rejects(t, () => verifyStandard(signed({ secret: 'whsec_' + Buffer.from('wrong').toString('base64') })), 'no-matching-signature')
  rejects(t, () => verifyStandard({ ...good, signature: good.signature.replace('v1,', 'v1a,') }), 'no-matching-signature')
  rejects(t, () => verifyStandard({ ...good, signature: good.signature.replace('v1,', 'v2,') }), 'no-matching-signature')
  rejects(t, () => verifyStandard({ ...good, id: 'msg_other' }), 'no-matching-signature')
})

t.test('Standard Webhooks: an empty or truncated v1 signature does not verify', async (t) => {
  const good = signed()
  const bytes = Buffer.from(good.signature.slice('v1,'.length), 'base64')
  rejects(t, () => verifyStandard({ ...good, signature: 'v1,=' }), 'no-matching-signature')
  rejects(t, () => verifyStandard({ ...good, signature: `v1,${bytes.subarray(0, 16).toString('base64')}` }), 'no-matching-signature')
  rejects(t, () => verifyStandard({ ...good, signature: `v1,${bytes.subarray(0, 1).toString('base64')}` }), 'no-matching-signature')
})

t.test('Standard Webhooks: a v1 signature with bytes appended does not verify', async (t) => {
  const good = signed()
  const bytes = Buffer.from(good.signature.slice('v1,'.length), 'base64')
  rejects(t, () => verifyStandard({ ...good, signature: `v1,${Buffer.concat([bytes, Buffer.from([0])]).toString('base64')}` }), 'no-matching-signature')
})

t.test('Standard Webhooks: an entry without a value, or with more than one comma, is malformed', async (t) => {
  const good = signed()
  rejects(t, () => verifyStandard({ ...good, signature: 'v1,' }), 'malformed-header')
  rejects(t, () => verifyStandard({ ...good, signature: `${good.signature},extra` }), 'malformed-header')
  rejects(t, () => verifyStandard({ ...good, signature: `${good.signature} ,abc` }), 'malformed-header')
})

t.test('Standard Webhooks: a tampered or re-serialised body does not verify', async (t) => {
  const headers = signed()
  rejects(t, () => verifyStandard(headers, { body: Buffer.from(standardBody.toString().replace('pay_1', 'pay_2')) }), 'no-matching-signature')
  rejects(t, () => verifyStandard(headers, { body: Buffer.from(JSON.stringify(JSON.parse(standardBody.toString()), null, 1)) }), 'no-matching-signature')
})

t.test('error messages never contain a secret', async (t) => {
  const stripeError = t.throws(() => verifyStripe(stripeHeader({ secret: 'whsec_wrong' }))) as Error
  t.notMatch(stripeError.message, /whsec_/)
  const standardError = t.throws(() => verifyStandard(signed({ secret: 'whsec_' + Buffer.from('wrong').toString('base64') }))) as Error
  t.notMatch(standardError.message, /whsec_|MfKQ9r8/)
})
