import { GetItemCommand } from '@aws-sdk/client-dynamodb'
import { unmarshall } from '@aws-sdk/util-dynamodb'
import t from 'tap'
import { TRIGGER_USAGE, TriggerUsageError, parseTriggerArgs } from '../../src/local/webhook-trigger.js'
import { build } from '../helpers/build.js'
import { runScript } from '../helpers/scripts.js'

const SECRET = `whsec_${Buffer.from('webhook trigger test secret 32b!').toString('base64')}`

/** Runs `npm run webhook -- ...` as a user does, bounded. */
const runWebhook = async (args: string[], env: Record<string, string> = {}) => runScript('webhook.ts', args, { ...process.env, ...env }, 30_000)

t.test('the arguments: a type, a payment id, and the secret from a flag or WEBHOOK_SECRETS', async (t) => {
  t.same(parseTriggerArgs(['payment.failed', 'pay_1', '--secret', SECRET, '--reason', 'card_declined', '--provider-ref', 'sbx_1'], {}), {
    url: 'http://127.0.0.1:3000/v1/webhooks/standard', secret: SECRET, type: 'payment.failed', paymentId: 'pay_1', reason: 'card_declined', providerRef: 'sbx_1'
  })
  t.match(parseTriggerArgs(['payment.succeeded', 'pay_1'], { WEBHOOK_SECRETS: `standard=${SECRET}`, PORT: '4000' }), { secret: SECRET, url: 'http://127.0.0.1:4000/v1/webhooks/standard' })
  t.match(parseTriggerArgs(['payment.refunded', 'pay_1', '--url', 'http://localhost:1/x', '--secret', SECRET], {}), { url: 'http://localhost:1/x' })
  t.throws(() => parseTriggerArgs([], {}), new TriggerUsageError(TRIGGER_USAGE))
  t.throws(() => parseTriggerArgs(['payment.paid', 'pay_1'], {}), { message: /unknown event type payment\.paid: expected one of payment\.succeeded, payment\.failed, payment\.refunded/ })
  t.throws(() => parseTriggerArgs(['payment.paid', 'pay_1', '--nope'], {}), { name: 'TriggerUsageError', message: /--nope/ })
  t.throws(() => parseTriggerArgs(['payment.succeeded', 'pay_1'], {}), { message: /no Standard Webhooks secret: pass --secret/ })
})

t.test('npm run webhook signs and sends a Standard Webhook that the server accepts and stores', async (t) => {
  const built = await build(t, { env: { WEBHOOK_SECRETS: `standard=${SECRET}` } })
  const url = await built.app.listen({ port: 0, host: '127.0.0.1' })
  const result = await runWebhook(['payment.succeeded', 'pay_01JDQ3V0J6Q8ZC7W8E5T0R2N4M', '--url', `${url}/v1/webhooks/standard`], { WEBHOOK_SECRETS: `standard=${SECRET}` })
  t.equal(result.code, 0, result.stderr)
  const answer = JSON.parse(result.stdout)
  t.match(answer, { status: 200, body: { received: true }, type: 'payment.succeeded', webhookId: /^msg_/ })

  const { Item } = await built.deps.dynamodb.send(new GetItemCommand({ TableName: built.config.tableName, Key: { pk: { S: `WEBHOOK#standard#${answer.webhookId as string}` }, sk: { S: 'WEBHOOK' } } }))
  t.match(unmarshall(Item ?? {}), { type: 'payment.succeeded', paymentId: 'pay_01JDQ3V0J6Q8ZC7W8E5T0R2N4M' })

  const wrong = await runWebhook(['payment.failed', 'pay_01JDQ3V0J6Q8ZC7W8E5T0R2N4M', '--url', `${url}/v1/webhooks/standard`, '--secret', `whsec_${Buffer.from('another secret of 32 bytes, ok!!').toString('base64')}`])
  t.equal(wrong.code, 1, 'a refused webhook exits 1')
  t.match(JSON.parse(wrong.stdout), { status: 400, body: { type: /signature/ } })
})

t.test('npm run webhook says in one line when nothing listens or the arguments are wrong', async (t) => {
  const down = await runWebhook(['payment.succeeded', 'pay_1', '--url', 'http://127.0.0.1:9/v1/webhooks/standard', '--secret', SECRET])
  t.equal(down.code, 2)
  t.match(down.stderr, /^webhook: could not reach the server: .*\(is npm start running\? --url sends elsewhere\)\n$/)
  const usage = await runWebhook([])
  t.equal(usage.code, 2)
  t.equal(usage.stderr, `webhook: ${TRIGGER_USAGE}\n`)
})

t.test('refund events name paylith\'s refund, or give the amount and id of one made at the provider', async (t) => {
  t.match(parseTriggerArgs(['refund.succeeded', 'pay_1', '--refund', 're_1', '--secret', SECRET], {}), { type: 'refund.succeeded', paymentId: 'pay_1', refundId: 're_1' })
  t.match(parseTriggerArgs(['refund.succeeded', 'pay_1', '--amount', '2500', '--provider-refund-ref', 're_dash_1', '--secret', SECRET], {}), { amount: 2500, providerRefundRef: 're_dash_1' })
  t.throws(() => parseTriggerArgs(['refund.failed', 'pay_1', '--secret', SECRET], {}), { message: /refund\.failed needs --refund re_\.\.\. \(a refund paylith made\) or --amount N and --provider-refund-ref REF/ })
  t.throws(() => parseTriggerArgs(['refund.succeeded', 'pay_1', '--amount', '12.50', '--provider-refund-ref', 're_x', '--secret', SECRET], {}), { message: /--amount 12\.50: expected a positive whole number of minor units/ })
  t.throws(() => parseTriggerArgs(['payment.succeeded', 'pay_1', '--refund', 're_1', '--secret', SECRET], {}), { message: /belong to refund events, not payment\.succeeded/ })
})

t.test('npm run webhook sends a refund made at the provider, which the server stores as a refund event', async (t) => {
  const built = await build(t, { env: { WEBHOOK_SECRETS: `standard=${SECRET}` } })
  const url = await built.app.listen({ port: 0, host: '127.0.0.1' })
  const result = await runWebhook(['refund.succeeded', 'pay_01JDQ3V0J6Q8ZC7W8E5T0R2N4M', '--amount', '2500', '--provider-refund-ref', 're_dash_1', '--url', `${url}/v1/webhooks/standard`], { WEBHOOK_SECRETS: `standard=${SECRET}` })
  t.equal(result.code, 0, result.stderr)
  const answer = JSON.parse(result.stdout)
  t.match(answer, { status: 200, type: 'refund.succeeded' })
  const { Item } = await built.deps.dynamodb.send(new GetItemCommand({ TableName: built.config.tableName, Key: { pk: { S: `WEBHOOK#standard#${answer.webhookId as string}` }, sk: { S: 'WEBHOOK' } } }))
  t.match(unmarshall(Item ?? {}), { type: 'refund.succeeded', paymentId: 'pay_01JDQ3V0J6Q8ZC7W8E5T0R2N4M', refundAmount: 2500, providerRefundRef: 're_dash_1' })
})
