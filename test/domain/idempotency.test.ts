import t from 'tap'
import { parseIdempotencyKey } from '../../src/domain/idempotency.js'

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
})
