import type { SendMessageCommand, SendMessageCommandInput, SQSClient } from '@aws-sdk/client-sqs'
import t from 'tap'
import { createWorkQueue } from '../../src/queue/work-queue.js'

/** An SQS client that keeps what it was asked to send. */
function recordingSqs (): { sqs: SQSClient, sent: SendMessageCommandInput[] } {
  const sent: SendMessageCommandInput[] = []
  const sqs = { send: async (command: SendMessageCommand) => { sent.push(command.input); return {} } } as unknown as SQSClient
  return { sqs, sent }
}

t.test('on a standard queue a command is sent with its correlation id and no FIFO fields', async (t) => {
  const { sqs, sent } = recordingSqs()
  await createWorkQueue({ sqs, url: 'https://sqs.example/123/work' }).send({ type: 'charge', paymentId: 'pay_1' })
  t.same(sent, [{
    QueueUrl: 'https://sqs.example/123/work',
    MessageBody: '{"type":"charge","paymentId":"pay_1"}',
    MessageAttributes: { commandType: { DataType: 'String', StringValue: 'charge' }, correlationId: { DataType: 'String', StringValue: 'pay_1' } }
  }])
})

t.test('on a FIFO queue the payment or event is the group and the command the deduplication id', async (t) => {
  const { sqs, sent } = recordingSqs()
  const queue = createWorkQueue({ sqs, url: 'https://sqs.example/123/work.fifo' })
  await queue.send({ type: 'charge', paymentId: 'pay_1' })
  await queue.send({ type: 'apply-webhook', provider: 'stripe', eventId: 'evt.1' }, 'pay_1')
  t.match(sent, [
    { MessageGroupId: 'pay_1', MessageDeduplicationId: 'charge#pay_1' },
    { MessageGroupId: 'stripe#evt.1', MessageDeduplicationId: 'apply-webhook#stripe#evt_1', MessageAttributes: { correlationId: { StringValue: 'pay_1' } } }
  ])
})

t.test('a redrive sends the body and attributes back, in the message\'s FIFO group, deduplicated by the dead letter', async (t) => {
  const { sqs, sent } = recordingSqs()
  await createWorkQueue({ sqs, url: 'https://sqs.example/123/work.fifo' }).redrive({
    messageId: 'm-1',
    body: '{"type":"charge","paymentId":"pay_1"}',
    attributes: { MessageGroupId: 'pay_1' },
    messageAttributes: { correlationId: { dataType: 'String', stringValue: 'pay_1' }, empty: {} }
  })
  t.same(sent, [{
    QueueUrl: 'https://sqs.example/123/work.fifo',
    MessageBody: '{"type":"charge","paymentId":"pay_1"}',
    MessageAttributes: { correlationId: { DataType: 'String', StringValue: 'pay_1' } },
    MessageGroupId: 'pay_1',
    MessageDeduplicationId: 'redrive-m-1'
  }])
})

t.test('without a queue URL a send fails saying which setting is missing', async (t) => {
  const { sqs, sent } = recordingSqs()
  await t.rejects(createWorkQueue({ sqs, url: undefined }).send({ type: 'charge', paymentId: 'pay_1' }), { message: /WORK_QUEUE_URL/ })
  t.same(sent, [])
})

t.test('on a FIFO queue an event id too long for a group or deduplication id is hashed, never cut', async (t) => {
  const { sqs, sent } = recordingSqs()
  const queue = createWorkQueue({ sqs, url: 'https://sqs.example/123/work.fifo' })
  const long = 'evt_' + 'x'.repeat(251)
  await queue.send({ type: 'apply-webhook', provider: 'standard', eventId: `${long}a` })
  await queue.send({ type: 'apply-webhook', provider: 'standard', eventId: `${long}b` })
  const [first, second] = sent
  t.match(first, { MessageGroupId: /^sha256-[0-9a-f]{64}$/, MessageDeduplicationId: /^sha256-[0-9a-f]{64}$/ })
  t.not(first?.MessageGroupId, second?.MessageGroupId)
  t.not(first?.MessageDeduplicationId, second?.MessageDeduplicationId, 'two events stay two messages')
})
