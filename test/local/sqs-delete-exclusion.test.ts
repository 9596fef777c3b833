import { setTimeout as sleep } from 'node:timers/promises'
import { CreateQueueCommand, DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient, SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs'
import t from 'tap'
import { clientOptions } from '../../src/aws/clients.js'
import { bootstrapLocal } from '../../src/local/bootstrap.js'
import { SQS_DELETE_EXCLUSION_MIDDLEWARE, excludeConcurrentSqsDeletes } from '../../src/local/sqs-delete-exclusion.js'
import { testConfig, type Teardownable } from '../helpers/build.js'

// On moto, with the real SDK. Each request is held 40 ms on its way (a middleware below the
// gate, which records when it reached the emulator), so calls that may overlap do, and whether
// the gate let a delete overlap anything is seen, not left to chance.

/** One request as it reached the emulator. */
interface Call { command: string, start: number, end: number }

const HOLD_MS = 40

async function client (t: Teardownable, { exclusion }: { exclusion: boolean }): Promise<{ sqs: SQSClient, calls: Call[], queueUrl: string }> {
  const config = await testConfig(t.name)
  const sqs = new SQSClient(clientOptions(config, 'sqs'))
  t.teardown(() => { sqs.destroy() })
  const { QueueUrl: queueUrl = '' } = await sqs.send(new CreateQueueCommand({ QueueName: `${config.queues.work.name}-exclusion` }))
  if (exclusion) excludeConcurrentSqsDeletes(sqs)
  const calls: Call[] = []
  sqs.middlewareStack.add((next, context) => async (args) => {
    const start = performance.now()
    await sleep(HOLD_MS)
    try {
      return await next(args)
    } finally {
      calls.push({ command: context.commandName ?? '', start, end: performance.now() })
    }
  }, { step: 'deserialize', priority: 'low', name: 'testHold' })
  return { sqs, calls, queueUrl }
}

const isDelete = (call: Call): boolean => call.command.startsWith('DeleteMessage')
const isSend = (call: Call): boolean => call.command.startsWith('SendMessage')
const overlap = (a: Call, b: Call): boolean => a.start < b.end && b.start < a.end

/** Pairs of calls that ran at the same time, by kind. */
function overlaps (calls: readonly Call[]): { deleteWithAny: number, sendWithSend: number } {
  let deleteWithAny = 0
  let sendWithSend = 0
  calls.forEach((a, i) => {
    for (const b of calls.slice(i + 1)) {
      if (!overlap(a, b)) continue
      if (isDelete(a) || isDelete(b)) deleteWithAny++
      else if (isSend(a) && isSend(b)) sendWithSend++
    }
  })
  return { deleteWithAny, sendWithSend }
}

/** Sends `count` messages, then at once: deletes them in batches while as many more are sent. */
async function sendAndDeleteTogether (sqs: SQSClient, queueUrl: string, count: number): Promise<Set<string>> {
  await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: Array.from({ length: count }, (_, i) => ({ Id: String(i), MessageBody: `first-${i}` })) }))
  const { Messages: received = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: count, VisibilityTimeout: 60 }))
  await Promise.all([
    ...received.map((message, i) => sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: [{ Id: String(i), ReceiptHandle: message.ReceiptHandle }] }))),
    ...Array.from({ length: count }, (_, i) => sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: `second-${i}` })))
  ])
  const bodies = new Set<string>()
  for (let empty = 0; empty < 2;) {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60 }))
    if (Messages.length === 0) empty++
    for (const message of Messages) bodies.add(message.Body ?? '')
  }
  return bodies
}

t.test('without the gate, deletes run alongside sends (the moto race this guards against can happen)', async (t) => {
  const { sqs, calls, queueUrl } = await client(t, { exclusion: false })
  await sendAndDeleteTogether(sqs, queueUrl, 5)
  t.ok(overlaps(calls).deleteWithAny > 0, 'a delete overlapped another call')
})

t.test('with the gate, a delete never overlaps a send or another delete; sends still overlap; nothing is lost', async (t) => {
  const { sqs, calls, queueUrl } = await client(t, { exclusion: true })
  const left = await sendAndDeleteTogether(sqs, queueUrl, 5)
  const { deleteWithAny, sendWithSend } = overlaps(calls)
  t.equal(calls.filter(isDelete).length, 5)
  t.equal(deleteWithAny, 0, 'every delete ran alone')
  t.ok(sendWithSend > 0, 'sends ran side by side')
  t.same([...left].sort(), Array.from({ length: 5 }, (_, i) => `second-${i}`).sort(), 'every message sent during the deletes is there, and no deleted one came back')
})

t.test('a waiting delete goes before sends that come after it, so sends cannot starve it', async (t) => {
  const { sqs, calls, queueUrl } = await client(t, { exclusion: true })
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'x' }))
  const { Messages: [message] = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1 }))
  calls.length = 0
  const first = sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'a' }))
  await sleep(5)
  const removal = sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: [{ Id: '0', ReceiptHandle: message?.ReceiptHandle }] }))
  await sleep(5)
  const later = sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'b' }))
  await Promise.all([first, removal, later])
  t.same(calls.map((call) => call.command), ['SendMessageCommand', 'DeleteMessageBatchCommand', 'SendMessageCommand'], 'the send, the delete, then the later send')
})

t.test('other queues and other commands are not held', async (t) => {
  const { sqs, calls, queueUrl } = await client(t, { exclusion: true })
  const { QueueUrl: other = '' } = await sqs.send(new CreateQueueCommand({ QueueName: `${t.name.replace(/\W/g, '').slice(0, 40)}-other` }))
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'x' }))
  const { Messages: [message] = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1 }))
  calls.length = 0
  await Promise.all([
    sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: [{ Id: '0', ReceiptHandle: message?.ReceiptHandle }] })),
    sqs.send(new SendMessageCommand({ QueueUrl: other, MessageBody: 'y' })),
    sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1 }))
  ])
  t.equal(calls.length, 3)
  t.ok(calls.every((call) => calls.every((other) => call === other || overlap(call, other))), 'the delete ran alongside a send to another queue and a receive')
})

t.test('the local bootstrap puts the gate on the SQS client it gives the app, once', async (t) => {
  const config = await testConfig(t.name)
  const { clients } = await bootstrapLocal(config)
  t.teardown(() => { clients.sqs.destroy(); clients.dynamodb.destroy() })
  excludeConcurrentSqsDeletes(clients.sqs)
  t.equal(clients.sqs.middlewareStack.identify().filter((entry) => entry.startsWith(SQS_DELETE_EXCLUSION_MIDDLEWARE)).length, 1)
})
