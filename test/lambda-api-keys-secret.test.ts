import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import t from 'tap'
import { hashApiKey } from '../src/config/api-keys.js'
import { createLocalContext } from '../src/local/lambda-context.js'
import { useLambdaEnvironment } from './helpers/lambda-env.js'
import { httpApiEvent } from './helpers/events.js'

// The real src/lambda.ts, configured as the stack configures it: the API keys in a Secrets
// Manager secret (API_KEYS_SECRET_ARN, on moto), no API_KEYS in the environment.
const config = await useLambdaEnvironment('lambda-keys-secret')
const secretsManager = new SecretsManagerClient({ region: config.aws.region, endpoint: config.aws.endpoint })
const entry = (key: string) => `${hashApiKey(key)}=payments:read`
const { ARN = '' } = await secretsManager.send(new CreateSecretCommand({ Name: `paylith-lambda-api-keys-${Date.now()}`, SecretString: entry('plk_test_deployed') }))
delete process.env.API_KEYS
process.env.API_KEYS_SECRET_ARN = ARN
const { handler } = await import('../src/lambda.js')
const read = async (key: string) => await handler(httpApiEvent({ path: '/v1/payments/pay_01JDQ3V0J6Q8ZC7W8E5T0R2N4M', headers: { authorization: `Bearer ${key}` } }), createLocalContext('paylith-test', 30_000)) as { statusCode: number, body: string }

t.test('a key from the secret authenticates through lambda.ts; an unknown one is a 401', async (t) => {
  t.equal((await read('plk_test_deployed')).statusCode, 404, 'authenticated: no such payment')
  const unknown = await read('plk_test_unknown')
  t.equal(unknown.statusCode, 401)
  t.equal(JSON.parse(unknown.body).type, 'https://paylith.dev/problems/unauthorized')
})
