import { ReceiveMessageCommand } from '@aws-sdk/client-sqs'
import type { DynamoDBRecord } from 'aws-lambda'
import t from 'tap'
import type { Payment } from '../../src/domain/payment.js'
import { createLocalContext } from '../../src/local/lambda-context.js'
import type { WorkCommand } from '../../src/queue/commands.js'
import type { SandboxProvider } from '../../src/providers/sandbox.js'
import { build, type Built } from '../helpers/build.js'
import { sqsEvent, streamEvent } from '../helpers/events.js'
import { storePayment } from '../helpers/payments.js'
import { streamRecords } from '../helpers/stream.js'

// The table-stream worker on the real service: records of a batch run concurrently across
// items, and Lambda redelivers everything from the lowest failed record on, including other
// items' records that had succeeded. Every effect of a redelivered record must be harmless.

const context = createLocalContext('paylith-test', 30_000)
const seq = (record: DynamoDBRecord): string => record.dynamodb?.SequenceNumber ?? ''
const keyOf = (record: DynamoDBRecord): string => `${record.dynamodb?.Keys?.pk?.S ?? ''}|${record.dynamodb?.Keys?.sk?.S ?? ''}`
const paymentRecord = (records: DynamoDBRecord[], payment: Payment, eventName = 'INSERT'): DynamoDBRecord => {
  const found = records.find((record) => keyOf(record) === `PAYMENT#${payment.id}|PAYMENT` && record.eventName === eventName)
  if (found === undefined) throw new Error(`no ${eventName} record for ${payment.id}`)
  return found
}

/** Runs `fn` on every DynamoDB command the deps send, before it is sent; throwing fails that call. */
function onDynamoDbCommand (built: Built, fn: (commandName: string, input: unknown) => void): void {
  built.deps.dynamodb.middlewareStack.add((next, context) => async (args) => {
    fn(context.commandName ?? '', args.input)
    return next(args)
  }, { step: 'initialize', name: 'testObserver' })
}

/** Every message on the work queue now, as commands (read without deleting). */
async function queuedCommands (built: Built): Promise<WorkCommand[]> {
  const commands: WorkCommand[] = []
  for (;;) {
    const { Messages = [] } = await built.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: built.config.queues.work.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 300 }))
    if (Messages.length === 0) return commands
    commands.push(...Messages.map((message) => JSON.parse(message.Body ?? '{}') as WorkCommand))
  }
}

const countBy = (values: string[]): Record<string, number> => {
  const counts: Record<string, number> = {}
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1
  return counts
}

t.test('a batch that fails mid-way and is redelivered from its lowest failure has no second effect that matters', async (t) => {
  const built = await build(t, { env: { STREAM_CONCURRENCY: '10' } })
  const { deps, workers, config, resources } = built
  const customerId = 'cus_redelivery'
  const payments: Payment[] = []
  for (const amount of [1000, 2000, 3000]) payments.push(await storePayment(deps, { customerId, amount }))
  const [first, second, third] = payments as [Payment, Payment, Payment]
  await deps.webhooks.recordOnce({ provider: 'standard', eventId: 'msg_refund', providerType: 'payment.refunded', type: 'payment.refunded', paymentId: first.id, payload: Buffer.from('{}'), receivedAt: new Date().toISOString(), expiresAt: Math.floor(Date.now() / 1000) + 3600 })
  const records = await streamRecords(config, resources.streamArn)

  // The second payment's summary write fails once, after its charge command was sent.
  let injected = 0
  onDynamoDbCommand(built, (commandName, input) => {
    if (injected === 0 && commandName === 'TransactWriteItemsCommand' && JSON.stringify(input).includes(`CONTRIBUTION#${second.id}`)) {
      injected++
      throw new Error('injected: DynamoDB unavailable')
    }
  })
  const stream = workers.streams[config.tableName]
  if (stream === undefined) throw new Error('no table-stream worker')

  const failedAt = seq(paymentRecord(records, second))
  t.same(await stream(streamEvent(records), context), { batchItemFailures: [{ itemIdentifier: failedAt }] }, 'the failed record is the checkpoint')
  t.equal(injected, 1)

  // Lambda delivers everything from the checkpoint on again, including records that succeeded.
  const redelivered = records.filter((record) => BigInt(seq(record)) >= BigInt(failedAt))
  t.ok(redelivered.includes(paymentRecord(records, third)), 'the third payment\'s INSERT, which succeeded, comes again')
  t.same(await stream(streamEvent(redelivered), context), { batchItemFailures: [] })

  t.same((await deps.summaries.get(customerId))?.totals, [{ currency: 'EUR', status: 'pending', count: 3, amount: 6000 }], 'the summary counts each payment once')

  const commands = await queuedCommands(built)
  const charges = commands.flatMap((command) => command.type === 'charge' ? [command.paymentId] : [])
  t.same(countBy(charges), { [first.id]: 1, [second.id]: 2, [third.id]: 2 }, 'charge commands were sent again for the redelivered records')
  const webhooks = commands.filter((command) => command.type === 'apply-webhook')
  t.equal(webhooks.length, 2, 'and so was the webhook relay')

  // The work-queue worker carries out every message, duplicates included: charges, then webhooks.
  const queue = workers.queues[config.queues.work.name]
  if (queue === undefined) throw new Error('no work-queue worker')
  const bodies = (type: string) => commands.filter((command) => command.type === type).map((command) => JSON.stringify(command))
  await queue(sqsEvent(config.queues.work.name, bodies('charge')), context)
  await queue(sqsEvent(config.queues.work.name, bodies('apply-webhook')), context)

  const sandbox = deps.provider as SandboxProvider
  for (const payment of payments) t.equal(sandbox.chargesFor(payment.id), 1, `${payment.id} is charged once`)
  t.equal((await deps.payments.get(second.id))?.status, 'succeeded')
  t.equal((await deps.payments.get(third.id))?.status, 'succeeded')
  const history = (await deps.payments.history(first.id))?.map((event) => event.status)
  t.same(history, ['pending', 'processing', 'succeeded', 'refunded'], 'the duplicated webhook was applied once')
})

t.test('versions of one payment in one batch reach the summary in order, while other payments go on', async (t) => {
  const built = await build(t, { env: { STREAM_CONCURRENCY: '10' } })
  const { deps, workers, config, resources } = built
  const payment = await storePayment(deps, { customerId: 'cus_order', amount: 1500 })
  const processing = await deps.payments.transition(payment, 'processing')
  await deps.payments.transition(processing, 'succeeded')
  const others: Payment[] = []
  for (let i = 0; i < 5; i++) others.push(await storePayment(deps, { customerId: `cus_other_${i}` }))
  const records = await streamRecords(config, resources.streamArn)
  t.equal(records.filter((record) => keyOf(record) === `PAYMENT#${payment.id}|PAYMENT`).length, 3, 'an INSERT and two MODIFYs of the payment')

  const written: number[] = []
  onDynamoDbCommand(built, (commandName, input) => {
    const text = JSON.stringify(input)
    if (commandName !== 'TransactWriteItemsCommand' || !text.includes(`CONTRIBUTION#${payment.id}`)) return
    written.push(Number((/"version":\{"N":"(\d+)"\}/.exec(text))?.[1]))
  })
  const stream = workers.streams[config.tableName]
  if (stream === undefined) throw new Error('no table-stream worker')
  t.same(await stream(streamEvent(records), context), { batchItemFailures: [] })
  t.same(written, [1, 2, 3], 'each version counted in turn (out of order, an older one would write nothing)')
  t.same((await deps.summaries.get('cus_order'))?.totals, [{ currency: 'EUR', status: 'succeeded', count: 1, amount: 1500 }])
  for (const other of others) t.equal((await deps.summaries.get(other.customerId))?.totals[0]?.count, 1)
})
