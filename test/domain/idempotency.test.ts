import t from 'tap'
import { IdempotencyCache, isLive, newIdempotencyRecord, parseIdempotencyKey, replayFor, requestFingerprint, requireIdempotencyKey } from '../../src/domain/idempotency.js'

t.test('bare and structured-field quoted keys are both accepted', async (t) => {
  t.same(parseIdempotencyKey('abc-123'), { key: 'abc-123' })
  t.same(parseIdempotencyKey('"abc-123"'), { key: 'abc-123' })
  t.same(parseIdempotencyKey('"a \\"quoted\\" key"'), { key: 'a "quoted" key' })
})

t.test('empty, too long, unprintable or badly quoted keys are refused with a reason', async (t) => {
  t.match(parseIdempotencyKey(''), { problem: /empty/ })
  t.match(parseIdempotencyKey('""'), { problem: /empty/ })
  t.same(parseIdempotencyKey('x'.repeat(255)), { key: 'x'.repeat(255) })
  t.match(parseIdempotencyKey('x'.repeat(256)), { problem: /longer than 255/ })
  t.match(parseIdempotencyKey('"x"y"'), { problem: /unescaped quote/ })
  t.match(parseIdempotencyKey('caf\u00e9'), { problem: /printable ASCII/ })
  t.match(parseIdempotencyKey('a,b'), { problem: /several keys/ }, 'a bare key with a comma: repeats joined by a proxy')
  t.same(parseIdempotencyKey('"a,b"'), { key: 'a,b' }, 'a quoted key may hold one')
})

t.test('a request without a key, or with one that is not a key, is refused with its own error', async (t) => {
  t.equal(requireIdempotencyKey('"k-1"', 'POST /v1/things'), 'k-1')
  t.throws(() => requireIdempotencyKey(undefined, 'POST /v1/things'), { name: 'IdempotencyKeyMissingError', code: 'PAYLITH_IDEMPOTENCY_KEY_MISSING', message: 'POST /v1/things needs an Idempotency-Key header' })
  t.throws(() => requireIdempotencyKey('', 'POST /v1/things'), { name: 'IdempotencyKeyInvalidError', code: 'PAYLITH_IDEMPOTENCY_KEY_INVALID', data: { problem: 'the key is empty' } })
  t.equal(requireIdempotencyKey(['k-1'], 'POST /v1/things'), 'k-1')
  t.throws(() => requireIdempotencyKey([], 'POST /v1/things'), { name: 'IdempotencyKeyMissingError' })
  t.throws(() => requireIdempotencyKey(['k-1', 'k-1'], 'POST /v1/things'), { name: 'IdempotencyKeyInvalidError', data: { problem: '2 Idempotency-Key headers; send exactly one' } })
})

t.test('the fingerprint ignores key order and sees every field', async (t) => {
  const body = { amount: 100, currency: 'EUR', metadata: { a: '1', b: '2' } }
  t.equal(requestFingerprint(body), requestFingerprint({ metadata: { b: '2', a: '1' }, currency: 'EUR', amount: 100 }))
  t.match(requestFingerprint(body), /^[0-9a-f]{64}$/)
  t.not(requestFingerprint(body), requestFingerprint({ ...body, metadata: { a: '1', b: '3' } }))
  t.not(requestFingerprint(body), requestFingerprint({ ...body, description: 'x' }))
})

const now = new Date('2026-11-27T12:00:00Z')
const claim = { scope: 'key_1', key: 'k', fingerprint: 'f1' }
const record = newIdempotencyRecord(claim, { resourceId: 'pay_1', statusCode: 201, body: '{"id":"pay_1"}' }, now, 60)

t.test('a record remembers the answer until its time to live has passed', async (t) => {
  t.same(record, { ...claim, resourceId: 'pay_1', statusCode: 201, body: '{"id":"pay_1"}', createdAt: '2026-11-27T12:00:00.000Z', expiresAt: 1_795_780_860 })
  t.ok(isLive(record, new Date(now.getTime() + 59_999)))
  t.notOk(isLive(record, new Date(now.getTime() + 60_000)))
})

t.test('the same key with the same body replays the record', async (t) => {
  t.equal(replayFor(claim, { by: 'completed', record }, now), record)
})

t.test('the same key with another body is refused as reused (422)', async (t) => {
  t.throws(() => replayFor({ ...claim, fingerprint: 'f2' }, { by: 'completed', record }, now), { name: 'IdempotencyKeyReusedError', code: 'PAYLITH_IDEMPOTENCY_KEY_REUSED', data: { key: 'k', resourceId: 'pay_1' } })
})

t.test('a key held by a request in flight is refused with a time to retry after (409)', async (t) => {
  const cause = new Error('TransactionConflict')
  const error = t.throws(() => replayFor(claim, { by: 'in-flight', cause }, now), { name: 'IdempotencyKeyInFlightError', code: 'PAYLITH_IDEMPOTENCY_KEY_IN_FLIGHT', data: { key: 'k', retryAfterSeconds: 1 } }) as Error
  t.equal(error.cause, cause, 'what the store saw is kept as the cause')
})

t.test('a record that expired or vanished since the write is in flight too: a retry gets the key', async (t) => {
  t.throws(() => replayFor(claim, { by: 'completed', record: undefined }, now), { name: 'IdempotencyKeyInFlightError', message: /changed hands/ })
  t.throws(() => replayFor(claim, { by: 'completed', record }, new Date(now.getTime() + 60_000)), { name: 'IdempotencyKeyInFlightError', message: /changed hands/ })
})

t.test('the cache serves live records, forgets expired ones and evicts the least recently used', async (t) => {
  const cache = new IdempotencyCache(2)
  const other = (key: string) => ({ ...record, key })
  cache.set(record)
  cache.set(other('k2'))
  t.equal(cache.get('key_1', 'k', now), record, 'a hit makes k the most recently used')
  cache.set(other('k3'))
  t.equal(cache.get('key_1', 'k2', now), undefined, 'k2 was evicted')
  t.equal(cache.get('key_1', 'k', now), record)
  t.equal(cache.get('other-scope', 'k', now), undefined, 'keys belong to their scope')
  t.equal(cache.get('key_1', 'k', new Date(now.getTime() + 60_000)), undefined, 'expired')
  t.equal(cache.get('key_1', 'k', now), undefined, 'and forgotten')
})
