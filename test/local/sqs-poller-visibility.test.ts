import { SendMessageCommand } from '@aws-sdk/client-sqs'
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda'
import t from 'tap'
import { bootstrapLocal } from '../../src/local/bootstrap.js'
import { startSqsPoller } from '../../src/local/sqs-poller.js'
import { createLogger } from '../../src/observability/logger.js'
import { testConfig } from '../helpers/build.js'
import { waitFor } from '../helpers/wait.js'

t.test('the poller receives with the visibility timeout it is given: short, a message in hand is delivered again', async (t) => {
  // The queue's own visibility (30 s) would hide the message for the whole test.
  const { config, clients, resources: { queues } } = await bootstrapLocal(await testConfig(t.name, { VISIBILITY_TIMEOUT_SECONDS: '30' }))
  const deliveries: Array<{ messageId: string, receiveCount: string | undefined, at: number }> = []
  let release: () => void = () => {}
  const held = new Promise<void>((resolve) => { release = resolve })
  const dispatch = async (event: unknown): Promise<SQSBatchResponse> => {
    for (const record of (event as SQSEvent).Records) deliveries.push({ messageId: record.messageId, receiveCount: record.attributes.ApproximateReceiveCount, at: Date.now() })
    // The first delivery is still being handled when its visibility ends.
    if (deliveries.length === 1) await held
    return { batchItemFailures: [] }
  }
  let visibility: number | undefined = 1
  // Two pollers, as Lambda runs several: one is busy with the first delivery, the other receives again.
  const options = { sqs: clients.sqs, queue: queues.work, region: config.aws.region, batchSize: 1, waitTimeSeconds: 1, invocationTimeoutMs: 10_000, dispatch, logger: createLogger({ logLevel: 'silent' }), visibilityTimeoutSeconds: () => visibility }
  const pollers = [startSqsPoller(options), startSqsPoller(options)]
  t.teardown(async () => { release(); await Promise.all(pollers.map((poller) => poller.stop())) })

  await clients.sqs.send(new SendMessageCommand({ QueueUrl: queues.work.url, MessageBody: JSON.stringify({ type: 'charge', paymentId: 'pay_dup' }) }))
  await waitFor('a second delivery', () => deliveries.length >= 2, { timeoutMs: 10_000 })
  release()
  const [first, second] = deliveries
  t.equal(second?.messageId, first?.messageId, 'the same message, twice: a duplicate')
  t.same([first?.receiveCount, second?.receiveCount], ['1', '2'])
  t.ok((second?.at ?? 0) - (first?.at ?? 0) >= 900, 'after the 1 s visibility, not the queue\'s 30 s')

  // Back to the queue's own visibility: the next message is delivered once.
  visibility = undefined
  await clients.sqs.send(new SendMessageCommand({ QueueUrl: queues.work.url, MessageBody: JSON.stringify({ type: 'charge', paymentId: 'pay_once' }) }))
  await waitFor('its delivery', () => deliveries.length >= 3, { timeoutMs: 10_000 })
  await new Promise((resolve) => setTimeout(resolve, 2_000))
  t.equal(deliveries.length, 3, 'delivered once, and deleted')
})
