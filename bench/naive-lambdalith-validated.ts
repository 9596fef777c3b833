import awsLambdaFastify from '@fastify/aws-lambda'
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb'
import Fastify from 'fastify'

// bench/naive-lambdalith.ts with what a user of Fastify adds first: a JSON schema on the route's
// params, which Fastify's default Ajv compiles at startup. The second baseline of the
// cold-start benchmark: paylith validates every route, so this is the like-for-like one.
const dynamodb = new DynamoDBClient({})
const app = Fastify()

app.get<{ Params: { id: string } }>('/v1/payments/:id', {
  schema: { params: { type: 'object', properties: { id: { type: 'string', pattern: '^pay_[0-9A-HJKMNP-TV-Z]{26}$' } }, required: ['id'] } }
}, async (request, reply) => {
  const { id } = request.params
  const { Item } = await dynamodb.send(new GetItemCommand({ TableName: process.env.TABLE_NAME, Key: { pk: { S: `PAYMENT#${id}` }, sk: { S: 'PAYMENT' } }, ConsistentRead: true }))
  if (Item === undefined) {
    return reply.code(404).type('application/problem+json').send({ type: 'about:blank', title: 'Not Found', status: 404, detail: `payment ${id} does not exist` })
  }
  return Item
})

/** The Lambda entrypoint. */
export const handler = awsLambdaFastify(app)
await app.ready()
