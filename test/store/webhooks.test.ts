import { PutItemCommand } from '@aws-sdk/client-dynamodb'
import { marshall } from '@aws-sdk/util-dynamodb'
import t from 'tap'
import { build } from '../helpers/build.js'

t.test('an event stored before payloads were bytes (a string) reads back as the same bytes', async (t) => {
  const { deps, config } = await build(t)
  const payload = '{"type":"payment.succeeded","data":{"paymentId":"pay_legacy"}}'
  await deps.dynamodb.send(new PutItemCommand({
    TableName: config.tableName,
    Item: marshall({ pk: 'WEBHOOK#standard#msg_legacy', sk: 'WEBHOOK', provider: 'standard', eventId: 'msg_legacy', providerType: 'payment.succeeded', type: 'payment.succeeded', paymentId: 'pay_legacy', payload, receivedAt: '2026-11-27T12:00:00.000Z', expiresAt: 1_800_000_000 })
  }))
  const stored = await deps.webhooks.get('standard', 'msg_legacy')
  t.match(stored, { eventId: 'msg_legacy', paymentId: 'pay_legacy' })
  t.equal(Buffer.from(stored?.payload ?? []).toString('utf8'), payload)
})

t.test('a small payload is stored as is, without an encoding', async (t) => {
  const { deps } = await build(t)
  const payload = Buffer.from('{"type":"payment.succeeded"}')
  await deps.webhooks.recordOnce({ provider: 'standard', eventId: 'msg_small', providerType: 'payment.succeeded', type: 'payment.succeeded', payload, receivedAt: '2026-11-27T12:00:00.000Z', expiresAt: 1_800_000_000 })
  t.same(Buffer.from((await deps.webhooks.get('standard', 'msg_small'))?.payload ?? []), payload)
})
