import { TransactionCanceledException, type DynamoDBClient, type TransactWriteItem, type TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb'
import t from 'tap'
import { hasTransactionConflict, writeTransaction } from '../../src/store/transaction.js'

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
