import t from 'tap'
import { isPortInUse, portInUseMessage, startupBanner } from '../../src/local/banner.js'

t.test('the banner shows the URL, the docs, the generated key and secret, the emulators and a curl that creates a payment', async (t) => {
  const lines = startupBanner({
    url: 'http://127.0.0.1:3000',
    apiKey: 'plk_local_abc',
    webhookSecret: 'whsec_c2VjcmV0',
    endpoints: { AWS: 'http://127.0.0.1:5000', DynamoDB: undefined }
  })
  const text = lines.join('\n')
  t.match(text, 'paylith is listening on http://127.0.0.1:3000')
  t.match(text, 'http://127.0.0.1:3000/docs')
  t.match(text, /API key +plk_local_abc/)
  t.match(text, /webhook secret +whsec_c2VjcmV0/)
  t.match(text, /AWS endpoint +http:\/\/127\.0\.0\.1:5000/)
  t.notMatch(text, 'DynamoDB endpoint', 'an endpoint not in use is left out')
  const curl = lines.find((line) => line.trim().startsWith('curl '))
  t.ok(curl, 'one curl line')
  t.match(curl, "curl -s http://127.0.0.1:3000/v1/payments -H 'Authorization: Bearer plk_local_abc' -H \"Idempotency-Key: ")
  t.match(curl, '-d \'{"amount":1999,"currency":"EUR","customerId":"cus_local"}\'')
})

t.test('without a generated key or secret the banner says where a key comes from and shows no secret', async (t) => {
  const text = startupBanner({ url: 'http://localhost:3000', endpoints: {} }).join('\n')
  t.notMatch(text, /^ +API key/m)
  t.notMatch(text, 'webhook secret')
  t.match(text, "'Authorization: Bearer <an API key from API_KEYS>'")
})

t.test('a busy port is one line naming the port and PORT', async (t) => {
  t.equal(portInUseMessage('127.0.0.1', 3000), 'port 3000 on 127.0.0.1 is already in use (another paylith?): stop it, or choose another port with PORT, e.g. PORT=3001 npm start')
  t.match(portInUseMessage('0.0.0.0', 0), 'PORT=3001')
  t.ok(isPortInUse(Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' })))
  t.notOk(isPortInUse(new Error('other')))
  t.notOk(isPortInUse(undefined))
})
