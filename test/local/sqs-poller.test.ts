import { setTimeout as sleep } from 'node:timers/promises'
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs'
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda'
import t from 'tap'
import { bootstrapLocal } from '../../src/local/bootstrap.js'
import { startSqsPoller } from '../../src/local/sqs-poller.js'
import { createLogger } from '../../src/observability/logger.js'
import { testConfig } from '../helpers/build.js'
import { waitFor } from '../helpers/wait.js'

t.test('the SQS poller deletes successes, redelivers failures and dead-letters a poison message', async (t) => {
  const { config, clients, resources: { queues } } = await bootstrapLocal(await testConfig(t.name, { VISIBILITY_TIMEOUT_SECONDS: '1', MAX_RECEIVE_COUNT: '2' }))
  const logger = createLogger({ logLevel: 'silent' })

  const seen: SQSRecord[] = []
  const handled: string[] = []
  // A stand-in function (the poller is under test, not the workers): the payment id of a charge
  // command says how its handling goes, and failures are reported as the workers report them.
  const dispatch = async (event: unknown): Promise<SQSBatchResponse> => {
    const failures: SQSBatchResponse['batchItemFailures'] = []
    for (const record of (event as SQSEvent).Records) {
      seen.push(record)
      const { paymentId } = JSON.parse(record.body) as { paymentId: string }
      const fails = paymentId === 'poison' || (paymentId === 'flaky' && record.attributes.ApproximateReceiveCount === '1')
      if (fails) failures.push({ itemIdentifier: record.messageId })
      else handled.push(paymentId)
    }
    return { batchItemFailures: failures }
  }
  const poller = startSqsPoller({ sqs: clients.sqs, queue: queues.work, region: config.aws.region, batchSize: 10, waitTimeSeconds: 1, invocationTimeoutMs: 5_000, dispatch, logger })
  t.teardown(() => poller.stop())

  for (const body of ['ok:1', 'flaky', 'poison', 'ok:2'].map((paymentId) => ({ type: 'charge', paymentId }))) {
    await clients.sqs.send(new SendMessageCommand({
      QueueUrl: queues.work.url,
      MessageBody: JSON.stringify(body),
      MessageAttributes: { source: { DataType: 'String', StringValue: 'test' } }
    }))
  }

  const deadLetters = await waitFor('the poison message in the DLQ', async () => {
    const { Messages = [] } = await clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: queues.deadLetter.url, WaitTimeSeconds: 1, MessageSystemAttributeNames: ['All'] }))
    return Messages.length > 0 ? Messages : undefined
  }, { timeoutMs: 20_000 })
  await waitFor('the flaky message to succeed', () => handled.includes('flaky'))
  await poller.stop()

  t.same(deadLetters.map((m) => JSON.parse(m.Body ?? '')), [{ type: 'charge', paymentId: 'poison' }], 'only the poison message is dead-lettered')
  t.same(handled.sort(), ['flaky', 'ok:1', 'ok:2'], 'each good message was handled exactly once')
  const poisonDeliveries = seen.filter((r) => r.body === '{"type":"charge","paymentId":"poison"}')
  t.same(poisonDeliveries.map((r) => r.attributes.ApproximateReceiveCount), ['1', '2'], 'the poison message was tried maxReceiveCount times')
  const flakyDeliveries = seen.filter((r) => r.body === '{"type":"charge","paymentId":"flaky"}')
  t.equal(flakyDeliveries.length, 2, 'the failed message came back once, after the visibility timeout')

  const { Attributes } = await clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queues.work.url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }))
  t.same(Attributes, { ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' }, 'nothing is left on the work queue')

  const record = seen[0] as SQSRecord
  t.match(record, {
    messageId: /^[0-9a-f-]{36}$/,
    receiptHandle: /.+/,
    body: /^\{/,
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: /^\d+$/, ApproximateFirstReceiveTimestamp: /^\d+$/, SenderId: /.+/ },
    messageAttributes: { source: { stringValue: 'test', dataType: 'String', stringListValues: [], binaryListValues: [] } },
    md5OfBody: /^[0-9a-f]{32}$/,
    eventSource: 'aws:sqs',
    eventSourceARN: queues.work.arn,
    awsRegion: config.aws.region
  }, 'records have the fields Lambda delivers')
})

t.test('a dispatch that throws fails the whole batch, which comes back', async (t) => {
  const { config, clients, resources: { queues } } = await bootstrapLocal(await testConfig(t.name, { VISIBILITY_TIMEOUT_SECONDS: '1' }))
  const logger = createLogger({ logLevel: 'silent' })
  const deliveries: SQSRecord[][] = []
  const dispatch = async (event: unknown) => {
    deliveries.push((event as SQSEvent).Records)
    if (deliveries.length === 1) throw new Error('function crashed')
    return { batchItemFailures: [] }
  }
  const poller = startSqsPoller({ sqs: clients.sqs, queue: queues.work, region: config.aws.region, batchSize: 10, waitTimeSeconds: 1, invocationTimeoutMs: 5_000, dispatch, logger })
  t.teardown(() => poller.stop())
  await clients.sqs.send(new SendMessageCommand({ QueueUrl: queues.work.url, MessageBody: '{"type":"x"}' }))

  // The batch is back after the 1 s visibility timeout; a poller that deleted it instead
  // fails the assertions below after this bounded wait, not on a timeout.
  const deadline = Date.now() + 8_000
  while (deliveries.length < 2 && Date.now() < deadline) await sleep(100)
  await poller.stop()
  t.equal(deliveries.length, 2, 'invoked a second time, with the batch that crashed')
  t.same(deliveries.map((records) => records.map((record) => record.body)), [['{"type":"x"}'], ['{"type":"x"}']])
  t.equal(deliveries[1]?.[0]?.messageId, deliveries[0]?.[0]?.messageId, 'the same message')
  t.equal(deliveries[1]?.[0]?.attributes.ApproximateReceiveCount, '2')
  const { Attributes } = await clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queues.work.url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }))
  t.same(Attributes, { ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' }, 'deleted after the successful retry')
})
