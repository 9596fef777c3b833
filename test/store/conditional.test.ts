import { ConditionalCheckFailedException, PutItemCommand, TransactionConflictException, type DynamoDBClient } from '@aws-sdk/client-dynamodb'
import t from 'tap'
import { writeIfCondition } from '../../src/store/conditional.js'
import { DEFAULT_TRANSIENT_RETRY, type TransientEvent } from '../../src/store/transient.js'

const command = new PutItemCommand({ TableName: 't', Item: { pk: { S: 'A' } }, ConditionExpression: 'attribute_not_exists(pk)' })
const metadata = { $metadata: { httpStatusCode: 400 } }
const conflict = () => new TransactionConflictException({ message: 'Transaction is ongoing for the item', ...metadata })

/** A client that fails its calls with these errors, one per call, then writes. */
function failing (...errors: Error[]): { dynamodb: DynamoDBClient, sent: () => number } {
  let sent = 0
  const dynamodb = {
    send: async () => {
      const error = errors[sent++]
      if (error !== undefined) throw error
      return {}
    }
  } as unknown as DynamoDBClient
  return { dynamodb, sent: () => sent }
}

const quick = { ...DEFAULT_TRANSIENT_RETRY, baseMs: 1, capMs: 2 }

t.test('a failed condition is an answer: false', async (t) => {
  const { dynamodb } = failing(new ConditionalCheckFailedException({ message: 'failed', ...metadata }))
  t.equal(await writeIfCondition(dynamodb, command), false)
})

t.test('without a retry policy, meeting a transaction is thrown at once', async (t) => {
  const { dynamodb, sent } = failing(conflict())
  await t.rejects(writeIfCondition(dynamodb, command), TransactionConflictException)
  t.equal(sent(), 1)
})

t.test('with one, a write that met a transaction is sent again, and counted', async (t) => {
  const { dynamodb, sent } = failing(conflict(), conflict())
  const events: TransientEvent[] = []
  t.equal(await writeIfCondition(dynamodb, command, { operation: 'test.write', policy: { ...quick, onTransient: (event) => { events.push(event) } } }), true)
  t.equal(sent(), 3)
  t.same(events.map(({ reason, retrying }) => [reason, retrying]), [['TransactionConflictException', true], ['TransactionConflictException', true]])
})

t.test('when the tries run out, the conflict is thrown; other errors are thrown at once', async (t) => {
  const always = failing(...Array.from({ length: 10 }, conflict))
  await t.rejects(writeIfCondition(always.dynamodb, command, { operation: 'test.write', policy: { ...quick, attempts: 2 } }), TransactionConflictException)
  t.equal(always.sent(), 2)
  const other = failing(new Error('socket hang up'))
  await t.rejects(writeIfCondition(other.dynamodb, command, { operation: 'test.write', policy: quick }), { message: 'socket hang up' })
  t.equal(other.sent(), 1)
})
