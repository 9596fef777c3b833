import { TransactionCanceledException, type DynamoDBClient, type TransactWriteItem, type TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb'
import t from 'tap'
import { hasTransactionConflict, writeTransaction } from '../../src/store/transaction.js'
import { DEFAULT_TRANSIENT_RETRY, THROTTLING_REASONS, type TransientEvent } from '../../src/store/transient.js'

const item = (name: string): TransactWriteItem => ({ Put: { TableName: 't', Item: { pk: { S: name } } } })

/** A client whose transaction fails as given, recording the items it was sent. */
function client (fail?: Error): { dynamodb: DynamoDBClient, sent: TransactWriteItem[][] } {
  const sent: TransactWriteItem[][] = []
  const dynamodb = {
    send: async (command: TransactWriteItemsCommand) => {
      sent.push(command.input.TransactItems ?? [])
      if (fail !== undefined) throw fail
      return {}
    }
  } as unknown as DynamoDBClient
  return { dynamodb, sent }
}

const cancelled = (codes: string[]) => new TransactionCanceledException({ message: 'cancelled', $metadata: {}, CancellationReasons: codes.map((Code) => ({ Code })) })

t.test('a committed transaction sends the named items in order, leaving out the undefined ones', async (t) => {
  const { dynamodb, sent } = client()
  t.equal(await writeTransaction(dynamodb, { a: item('A'), skipped: undefined, b: item('B') }), undefined)
  t.same(sent, [[item('A'), item('B')]])
})

t.test('a cancelled transaction gives each reason under its item\'s name', async (t) => {
  const error = cancelled(['None', 'ConditionalCheckFailed'])
  const { dynamodb } = client(error)
  const result = await writeTransaction(dynamodb, { payment: item('P'), providerRef: undefined, event: item('E') })
  t.same(result?.reasons, { payment: { Code: 'None' }, event: { Code: 'ConditionalCheckFailed' } })
  t.equal(result?.error, error)
  t.notOk(result !== undefined && hasTransactionConflict(result))
})

t.test('a conflict on any item is seen as a transaction conflict', async (t) => {
  const { dynamodb } = client(cancelled(['None', 'TransactionConflict']))
  const result = await writeTransaction(dynamodb, { a: item('A'), b: item('B') })
  t.ok(result !== undefined && hasTransactionConflict(result))
})

t.test('any other failure is thrown', async (t) => {
  const { dynamodb } = client(new Error('network down'))
  await t.rejects(writeTransaction(dynamodb, { a: item('A') }), { message: 'network down' })
})

t.test('a cancellation names its transient reason only when no item\'s condition failed', async (t) => {
  const transient = async (codes: string[]) => (await writeTransaction(client(cancelled(codes)).dynamodb, { a: item('A'), b: item('B') }))?.transient
  t.equal(await transient(['None', 'ThrottlingError']), 'ThrottlingError')
  t.equal(await transient(['ProvisionedThroughputExceeded', 'None']), 'ProvisionedThroughputExceeded')
  t.equal(await transient(['TransactionConflict', 'None']), 'TransactionConflict')
  t.equal(await transient(['TransactionConflict', 'ThrottlingError']), 'ThrottlingError', 'throttling tells more than a conflict')
  t.equal(await transient(['ConditionalCheckFailed', 'ThrottlingError']), undefined, 'a failed condition is an answer, whatever else')
  t.equal(await transient(['ValidationError', 'None']), undefined)
})

/** A client whose transactions are cancelled with these reasons, one list per call, then commit. */
function cancelling (...calls: string[][]): { dynamodb: DynamoDBClient, sent: () => number } {
  let sent = 0
  const dynamodb = {
    send: async () => {
      const codes = calls[sent++]
      if (codes !== undefined) throw cancelled(codes)
      return {}
    }
  } as unknown as DynamoDBClient
  return { dynamodb, sent: () => sent }
}

const quick = { ...DEFAULT_TRANSIENT_RETRY, baseMs: 1, capMs: 2 }

t.test('with a retry policy, a transaction cancelled for a transient reason is sent again until it commits', async (t) => {
  const { dynamodb, sent } = cancelling(['ThrottlingError', 'None'], ['None', 'TransactionConflict'])
  const events: TransientEvent[] = []
  t.equal(await writeTransaction(dynamodb, { a: item('A'), b: item('B') }, { operation: 'test.write', policy: { ...quick, onTransient: (event) => { events.push(event) } } }), undefined)
  t.equal(sent(), 3)
  t.same(events.map(({ reason, attempt }) => [reason, attempt]), [['ThrottlingError', 1], ['TransactionConflict', 2]])
})

t.test('a condition failure is answered at once, never sent again', async (t) => {
  const { dynamodb, sent } = cancelling(['ConditionalCheckFailed', 'None'])
  const result = await writeTransaction(dynamodb, { a: item('A'), b: item('B') }, { operation: 'test.write', policy: quick })
  t.equal(result?.reasons.a?.Code, 'ConditionalCheckFailed')
  t.equal(sent(), 1)
})

t.test('a transient reason left out of retryOn is answered at once', async (t) => {
  const { dynamodb, sent } = cancelling(['TransactionConflict', 'None'])
  const result = await writeTransaction(dynamodb, { a: item('A'), b: item('B') }, { operation: 'test.write', policy: quick, retryOn: THROTTLING_REASONS })
  t.equal(result?.transient, 'TransactionConflict')
  t.equal(sent(), 1)
})

t.test('when the policy gives up, the last cancellation is answered', async (t) => {
  const { dynamodb, sent } = cancelling(...Array.from({ length: 10 }, () => ['ThrottlingError']))
  const result = await writeTransaction(dynamodb, { a: item('A') }, { operation: 'test.write', policy: { ...quick, attempts: 3 } })
  t.equal(result?.transient, 'ThrottlingError')
  t.equal(sent(), 3)
})
