import t from 'tap'
import { canonicalJson } from '../../src/domain/canonical-json.js'

t.test('key order does not change the canonical form, at any depth', async (t) => {
  t.equal(canonicalJson({ b: 1, a: { d: [2, { y: 1, x: 0 }], c: null } }), '{"a":{"c":null,"d":[2,{"x":0,"y":1}]},"b":1}')
  t.equal(canonicalJson({ a: 1, b: 2 }), canonicalJson({ b: 2, a: 1 }))
})

t.test('array order and values still matter', async (t) => {
  t.not(canonicalJson([1, 2]), canonicalJson([2, 1]))
  t.not(canonicalJson({ a: 1 }), canonicalJson({ a: '1' }))
})
