import awsLambdaFastify from '@fastify/aws-lambda'
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb'
import Fastify from 'fastify'

// The Lambdalith a user would write without paylith's work on cold start: the same packages
// (Fastify, @fastify/aws-lambda, the DynamoDB client with the SDK's defaults), one route doing
// the same consistent GetItem on the same table, a schema on its params, a problem+json 404.
// bench/cold-start.ts bundles it with esbuild as a user would, and times it against paylith.
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
