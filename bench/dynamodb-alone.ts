import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb'

// The other half of bench/naive-lambdalith.ts (see bench/fastify-alone.ts): the DynamoDB client
// with the SDK's defaults and the same consistent GetItem, answered by a plain handler, no Fastify.
const dynamodb = new DynamoDBClient({})

/** The Lambda entrypoint: an API Gateway v2 `GET /v1/payments/{id}`. */
export async function handler (event: { rawPath: string }): Promise<{ statusCode: number, headers: Record<string, string>, body: string }> {
  const id = event.rawPath.split('/').pop() ?? ''
  const { Item } = await dynamodb.send(new GetItemCommand({ TableName: process.env.TABLE_NAME, Key: { pk: { S: `PAYMENT#${id}` }, sk: { S: 'PAYMENT' } }, ConsistentRead: true }))
  return Item === undefined
    ? { statusCode: 404, headers: { 'content-type': 'application/problem+json' }, body: JSON.stringify({ type: 'about:blank', title: 'Not Found', status: 404, detail: `payment ${id} does not exist` }) }
    : { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(Item) }
}
