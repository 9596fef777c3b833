import awsLambdaFastify from '@fastify/aws-lambda'
import Fastify from 'fastify'

// Half of bench/naive-lambdalith.ts: Fastify and @fastify/aws-lambda with the same route, which
// answers the same problem+json 404 without reading anything. With bench/dynamodb-alone.ts (the
// other half) it shows what the two packages paylith keeps on its cold path cost by themselves.
const app = Fastify()

app.get<{ Params: { id: string } }>('/v1/payments/:id', async (request, reply) =>
  reply.code(404).type('application/problem+json').send({ type: 'about:blank', title: 'Not Found', status: 404, detail: `payment ${request.params.id} does not exist` }))

/** The Lambda entrypoint. */
export const handler = awsLambdaFastify(app)
await app.ready()
