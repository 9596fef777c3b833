import awsLambdaFastify from '@fastify/aws-lambda'
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb'
import Fastify from 'fastify'

// The Lambdalith a user would write without paylith's work on cold start, as issue 17 measured
// it: the same packages (Fastify, @fastify/aws-lambda, the DynamoDB client with the SDK's
// defaults), one route doing the same consistent GetItem on the same table, a problem+json 404,
// and no schema (so Fastify compiles no validator at startup). bench/naive-lambdalith-validated.ts is the
// same with a schema on the route's params. bench/cold-start.ts bundles both with esbuild as a
// user would, and times them against paylith.
const dynamodb = new DynamoDBClient({})
const app = Fastify()

app.get<{ Params: { id: string } }>('/v1/payments/:id', async (request, reply) => {
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
