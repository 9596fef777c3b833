import { randomUUID } from 'node:crypto'
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb'
import { marshall } from '@aws-sdk/util-dynamodb'
import type { SQSEvent, SQSRecord } from 'aws-lambda'
import { Keys } from '../src/store/table.js'
import { benchConfig, benchService, ratioOf, type BenchRow } from './lib.js'

// M6: a 1,000-record SQS batch through the handler (dispatch, Powertools batch processing,
// bounded concurrency; per record the dead-letter worker reads the payment the charge command
// names, then makes one conditional PutItem) against a hand-written bounded promise pool doing
// the same read and write. DynamoDB is DynamoDB Local.
const RECORDS = 1_000
const CONCURRENCY = 10

function record (queueArn: string): SQSRecord {
  return {
    messageId: randomUUID(),
    receiptHandle: 'r',
    body: JSON.stringify({ type: 'charge', paymentId: 'pay_01JDQ3V0J6Q8ZC7W8E5T0R2N4M' }),
    attributes: { ApproximateReceiveCount: '5', SentTimestamp: '0', SenderId: 'x', ApproximateFirstReceiveTimestamp: '0' },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: 'us-east-1'
  }
}

async function pool<T> (items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await fn(items[next++] as T)
  }))
}

/** Runs M6. */
export async function run (): Promise<BenchRow[]> {
  const config = { ...benchConfig('batch'), workerConcurrency: CONCURRENCY }
  const { app, deps, handler } = await benchService(config)
  const arn = `arn:aws:sqs:us-east-1:000000000000:${deps.config.queues.deadLetter.name}`
  const context = { awsRequestId: 'bench', getRemainingTimeInMillis: () => 900_000 } as never

  const ours: number[] = []
  const baseline: number[] = []
  for (let round = 0; round < 4; round++) {
    const event: SQSEvent = { Records: Array.from({ length: RECORDS }, () => record(arn)) }
    let start = performance.now()
    const response = await handler(event, context) as { batchItemFailures: unknown[] }
    if (response.batchItemFailures.length > 0) throw new Error(`${response.batchItemFailures.length} records failed`)
    if (round > 0) ours.push(performance.now() - start)

    const records = Array.from({ length: RECORDS }, () => record(arn))
    start = performance.now()
    await pool(records, CONCURRENCY, async (r) => {
      const { paymentId } = JSON.parse(r.body) as { paymentId: string }
      await deps.dynamodb.send(new GetItemCommand({ TableName: config.tableName, Key: marshall(Keys.payment(paymentId)), ConsistentRead: true }))
      const at = new Date().toISOString()
      await deps.dynamodb.send(new PutItemCommand({
        TableName: config.tableName,
        Item: marshall({ ...Keys.deadLetter(r.messageId), ...Keys.deadLetterIndex(at, r.messageId), messageId: r.messageId, body: r.body, attributes: r.attributes, messageAttributes: r.messageAttributes, sourceQueue: 'bench', receiveCount: 5, deadLetteredAt: at, kind: 'message', status: 'open' }),
        ConditionExpression: 'attribute_not_exists(pk)'
      }))
    })
    if (round > 0) baseline.push(performance.now() - start)
  }
  await app.close()
  const best = (values: number[]) => Math.min(...values)
  const rate = (ms: number) => `${(RECORDS / (ms / 1000)).toFixed(0)} records/s`
  return [{
    metric: `M6 ${RECORDS}-record SQS batch through handler (best of 3)`,
    ours: rate(best(ours)),
    baseline: `promise pool (${CONCURRENCY}): ${rate(best(baseline))}`,
    ratio: ratioOf(best(baseline), best(ours)),
    target: '≥ 0.95'
  }]
}
