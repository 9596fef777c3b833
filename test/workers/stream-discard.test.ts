import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs'
import t from 'tap'
import { startStreamPoller, streamPollerOptions } from '../../src/local/stream-poller.js'
import { createLocalContext } from '../../src/local/lambda-context.js'
import { createLogger } from '../../src/observability/logger.js'
import { createStreamReplay } from '../../src/workers/index.js'
import { bearer, build, type Built, type Teardownable } from '../helpers/build.js'
import { sqsEvent } from '../helpers/events.js'
import { storePayment } from '../helpers/payments.js'
import { waitFor } from '../helpers/wait.js'

// A stream batch that keeps failing is discarded after its retries, as Lambda does; its
// dead letter keeps the records, read back from the stream, and a redrive runs them again.

/** Fault injection (the emulator cannot refuse sends on demand): the work queue refuses every send while `down`. */
function workQueueDown (built: Built): { down: boolean } {
  const fault = { down: true }
  built.clients.sqs.middlewareStack.add((next, context) => async (args) => {
    const url = (args.input as { QueueUrl?: string }).QueueUrl
    if (fault.down && url === built.config.queues.work.url && /^SendMessage(Batch)?Command$/.test(context.commandName ?? '')) throw new Error('SQS is unavailable')
    return next(args)
  }, { step: 'initialize', name: 'workQueueDown' })
  return fault
}

async function receive (sqs: SQSClient, url: string): Promise<string[]> {
  const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }))
  return Messages.map((message) => message.Body ?? '')
}

/** Runs the stream through the real handler until the batch is discarded, and the dead-letter worker on its on-failure record: the dead letter's id. */
async function discardedBatch (t: Teardownable, built: Built): Promise<string> {
  const poller = startStreamPoller({
    ...streamPollerOptions({ config: built.config, clients: built.clients, resources: built.resources }, { dispatch: built.handler, logger: createLogger({ logLevel: 'silent' }), invocationTimeoutMs: 10_000 }),
    pollIntervalMs: 50,
    maxRetries: 1
  })
  t.teardown(() => poller.stop())
  let failures: string[] = []
  await waitFor('the on-failure record', async () => {
    failures = await receive(built.clients.sqs, built.resources.queues.deadLetter.url)
    return failures.length > 0
  }, { timeoutMs: 20_000 })
  await poller.stop()
  const event = sqsEvent(built.config.queues.deadLetter.name, failures)
  const response = await built.workers.queues[built.config.queues.deadLetter.name]?.(event, createLocalContext('paylith-test', 10_000))
  if (response?.batchItemFailures.length !== 0) throw new Error('the dead letter was not recorded')
  return event.Records[0]?.messageId ?? ''
}

t.test('a discarded stream batch is a dead letter with its records; its redrive relays the charge and the summary converges', async (t) => {
  const built = await build(t)
  const fault = workQueueDown(built)
  const payment = await storePayment(built.deps, { customerId: 'cus_discarded', amount: 250 })

  const id = await discardedBatch(t, built)

  const deadLetter = await built.deps.deadLetters.get(id)
  t.equal(deadLetter?.kind, 'stream-batch')
  t.equal(deadLetter?.streamBatch?.unavailable, undefined, 'its records were read back')
  const insert = deadLetter?.streamBatch?.records?.find((record) => record.eventName === 'INSERT' && record.dynamodb?.NewImage?.id?.S === payment.id)
  t.ok(insert, 'the payment\'s INSERT is kept, as Lambda delivers it')
  t.equal(insert?.eventSourceARN, built.resources.streamArn)
  t.equal(await built.deps.summaries.get('cus_discarded'), undefined, 'the summary was never counted')
  const listed = await built.app.inject({ method: 'GET', url: '/v1/dead-letters', headers: bearer() })
  t.match(listed.json().data, [{ messageId: id, kind: 'stream-batch', streamBatch: { startSequenceNumber: /^\d+$/, recordsKept: deadLetter?.streamBatch?.records?.length } }])
  t.notOk('records' in (listed.json().data[0].streamBatch as object), 'the API counts the records, it does not list them')

  fault.down = false
  const redriven = await built.app.inject({ method: 'POST', url: `/v1/dead-letters/${id}/redrive`, headers: bearer() })
  t.equal(redriven.statusCode, 200)
  t.match(redriven.json(), { messageId: id, kind: 'stream-batch', status: 'redriven' })
  const commands = (await receive(built.clients.sqs, built.resources.queues.work.url)).map((body) => JSON.parse(body))
  t.same(commands, [{ type: 'charge', paymentId: payment.id }], 'the charge command is relayed')
  const summary = await built.deps.summaries.get('cus_discarded')
  t.match(summary?.totals, [{ currency: 'EUR', count: 1 }], 'the summary counts the payment')

  await createStreamReplay(built.deps)(insert === undefined ? [] : [insert])
  t.same(await built.deps.summaries.get('cus_discarded'), summary, 'running the record again changes nothing in the summary')
  t.equal((await built.app.inject({ method: 'POST', url: `/v1/dead-letters/${id}/redrive`, headers: bearer() })).statusCode, 409, 'redriven once')
})

t.test('when the stream handlers fail again the redrive is 503 and the dead letter stays open', async (t) => {
  const built = await build(t)
  workQueueDown(built)
  await storePayment(built.deps, { customerId: 'cus_still_down' })
  const id = await discardedBatch(t, built)

  const redriven = await built.app.inject({ method: 'POST', url: `/v1/dead-letters/${id}/redrive`, headers: bearer() })
  t.equal(redriven.statusCode, 503)
  t.match(redriven.json(), { detail: /stream handlers failed on record \d+; the dead letter is still open/ })
  t.equal((await built.deps.deadLetters.get(id))?.status, 'open')
})
