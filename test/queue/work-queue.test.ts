import type { SendMessageBatchCommandInput, SendMessageCommandInput, SQSClient } from '@aws-sdk/client-sqs'
import t from 'tap'
import type { SQSRecord } from 'aws-lambda'
import { createWorkQueue, Deferred, deferralsOf, MAX_DELAY_SECONDS } from '../../src/queue/work-queue.js'

/**
 * An SQS client that keeps what it was asked to send, one entry per message (a batch's entries
 * with the batch's QueueUrl and without their Ids), and the size of each batch.
 */
function recordingSqs (): { sqs: () => Promise<SQSClient>, sent: SendMessageCommandInput[], batches: number[] } {
  const sent: SendMessageCommandInput[] = []
  const batches: number[] = []
  const sqs = {
    send: async (command: { input: SendMessageCommandInput | SendMessageBatchCommandInput }) => {
      const { input } = command
      if (!('Entries' in input)) {
        sent.push(input)
        return {}
      }
      batches.push(input.Entries?.length ?? 0)
      for (const { Id: _id, ...entry } of input.Entries ?? []) sent.push({ QueueUrl: input.QueueUrl, ...entry })
      return { Successful: (input.Entries ?? []).map(({ Id }) => ({ Id, MessageId: `m-${Id}`, MD5OfMessageBody: '' })) }
    }
  } as unknown as SQSClient
  return { sqs: async () => sqs, sent, batches }
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

/** An SQS client that keeps every command's name and input. */
function recordingAnySqs (): { sqs: () => Promise<SQSClient>, calls: Array<{ name: string, input: Record<string, unknown> }> } {
  const calls: Array<{ name: string, input: Record<string, unknown> }> = []
  const sqs = { send: async (command: { constructor: { name: string }, input: Record<string, unknown> }) => { calls.push({ name: command.constructor.name, input: command.input }); return {} } } as unknown as SQSClient
  return { sqs: async () => sqs, calls }
}

const received = (receiveCount: number, deferrals?: number) => ({
  messageId: 'm-1',
  receiptHandle: 'rh-1',
  body: '{"type":"charge","paymentId":"pay_1"}',
  attributes: { ApproximateReceiveCount: String(receiveCount), MessageGroupId: 'pay_1' } as unknown as SQSRecord['attributes'],
  messageAttributes: {
    correlationId: { dataType: 'String', stringValue: 'pay_1' },
    ...(deferrals !== undefined && { deferrals: { dataType: 'Number', stringValue: String(deferrals) } })
  }
})

t.test('on a standard queue a deferral sends the message again, delayed, with one more deferral, and at most 15 minutes away', async (t) => {
  const { sqs, calls } = recordingAnySqs()
  const queue = createWorkQueue({ sqs, url: 'https://sqs.example/123/work' })
  t.equal(await queue.defer(received(4, 2), 12.2), Deferred.resent)
  t.equal(await queue.defer(received(1), 5_000), Deferred.resent)
  t.same(calls, [{
    name: 'SendMessageCommand',
    input: {
      QueueUrl: 'https://sqs.example/123/work',
      MessageBody: '{"type":"charge","paymentId":"pay_1"}',
      MessageAttributes: { correlationId: { DataType: 'String', StringValue: 'pay_1' }, deferrals: { DataType: 'Number', StringValue: '3' } },
      DelaySeconds: 13
    }
  }, {
    name: 'SendMessageCommand',
    input: {
      QueueUrl: 'https://sqs.example/123/work',
      MessageBody: '{"type":"charge","paymentId":"pay_1"}',
      MessageAttributes: { correlationId: { DataType: 'String', StringValue: 'pay_1' }, deferrals: { DataType: 'Number', StringValue: '1' } },
      DelaySeconds: MAX_DELAY_SECONDS
    }
  }])
})

t.test('on a FIFO queue a deferral hides the message, and sends it again only before its last receives', async (t) => {
  const { sqs, calls } = recordingAnySqs()
  const queue = createWorkQueue({ sqs, url: 'https://sqs.example/123/work.fifo', maxReceiveCount: 5 })
  t.equal(await queue.defer(received(3), 30), Deferred.hidden)
  t.equal(await queue.defer(received(4), 30), Deferred.resent)
  t.same(calls.map((call) => call.name), ['ChangeMessageVisibilityCommand', 'SendMessageCommand'])
  t.same(calls[0]?.input, { QueueUrl: 'https://sqs.example/123/work.fifo', ReceiptHandle: 'rh-1', VisibilityTimeout: 30 })
  t.match(calls[1]?.input, { MessageGroupId: 'pay_1', MessageDeduplicationId: 'deferred-m-1', MessageAttributes: { deferrals: { StringValue: '1' } } })
  t.notOk('DelaySeconds' in (calls[1]?.input ?? {}), 'FIFO messages take no delay of their own')
})

t.test('a deferral count that is not a positive integer reads as none', async (t) => {
  t.equal(deferralsOf({ messageAttributes: {} }), 0)
  t.equal(deferralsOf({ messageAttributes: { deferrals: { dataType: 'Number', stringValue: 'x' } } as unknown as SQSRecord['messageAttributes'] }), 0)
  t.equal(deferralsOf(received(1, 7)), 7)
})

t.test('sends made together go in one SendMessageBatch of at most ten, in order', async (t) => {
  const { sqs, sent, batches } = recordingSqs()
  const queue = createWorkQueue({ sqs, url: 'https://sqs.example/123/work' })
  await Promise.all(Array.from({ length: 23 }, async (_, i) => queue.send({ type: 'charge', paymentId: `pay_${i}` })))
  t.same(batches, [10, 10, 3])
  t.same(sent.map((message) => JSON.parse(message.MessageBody ?? '').paymentId), Array.from({ length: 23 }, (_, i) => `pay_${i}`))
})

t.test('a message SQS refuses fails its own send only; a batch call that fails fails all of its sends', async (t) => {
  let call = 0
  const sqs = {
    send: async (command: { input: SendMessageBatchCommandInput }) => {
      call++
      if (call === 2) throw Object.assign(new Error('connect ECONNREFUSED'), { name: 'TimeoutError' })
      const [first, second] = command.input.Entries ?? []
      return { Successful: [{ Id: first?.Id }], Failed: [{ Id: second?.Id, Code: 'InvalidMessageContents', SenderFault: true, Message: 'bad characters' }] }
    }
  } as unknown as SQSClient
  const queue = createWorkQueue({ sqs: async () => sqs, url: 'https://sqs.example/123/work' })
  const [ok, refused, unanswered] = await Promise.allSettled([
    queue.send({ type: 'charge', paymentId: 'pay_ok' }),
    queue.send({ type: 'charge', paymentId: 'pay_refused' }),
    queue.send({ type: 'charge', paymentId: 'pay_unanswered' })
  ])
  t.equal(ok?.status, 'fulfilled')
  t.match(refused, { status: 'rejected', reason: { name: 'QueueSendError', message: /InvalidMessageContents bad characters/ } })
  t.match(unanswered, { status: 'rejected', reason: { name: 'QueueSendError', message: /neither success nor failure/ } })
  await t.rejects(queue.send({ type: 'charge', paymentId: 'pay_2' }), { message: /ECONNREFUSED/ }, 'the second batch call fails, and so does its send')
})
