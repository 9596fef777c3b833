import t from 'tap'
import { isObject } from '../../src/lib/is-object.js'

t.test('an object literal is an object; null, arrays and primitives are not', async (t) => {
  t.equal(isObject({ a: 1 }), true)
  t.equal(isObject(Object.create(null)), true)
  for (const value of [null, undefined, [], [1], 'a', 1, true]) t.equal(isObject(value), false, JSON.stringify(value) ?? String(value))
})
