import t from 'tap'
import { apiKeyFromHash, hashApiKey, parseApiKeys } from '../../src/config/api-keys.js'

t.test('hashApiKey is the SHA-256 hex that API_KEYS holds', async (t) => {
  t.equal(hashApiKey('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
})

t.test('a key built from its hash has a lower-case 16-digit id and the given scopes', async (t) => {
  const key = apiKeyFromHash('BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD', ['admin'])
  t.equal(key.id, 'ba7816bf8f01cfea')
  t.same([...key.scopes], ['admin'])
  t.equal(key.sha256.toString('hex'), hashApiKey('abc'))
})

t.test('parsed entries become keys; a bad entry is a problem that never echoes it', async (t) => {
  const problems: string[] = []
  const keys = parseApiKeys(`${hashApiKey('abc')}=payments:read|admin, plk_raw_key=admin`, problems)
  t.same(keys.map((key) => [...key.scopes]), [['payments:read', 'admin']])
  t.equal(problems.length, 1)
  t.match(problems[0], /^API_KEYS entry 2: /)
  t.notMatch(problems[0], /plk_raw_key/)
})
