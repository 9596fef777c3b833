// One settlement file reconciled by the Lambda bundle (dist/lambda.mjs) in a process of its
// own, as Lambda runs it: the handler gets one SQS record from the settlement queue carrying
// the S3 notification, then, as the event source mapping would, each continuation the worker
// sends itself when the invocation's 15 minutes run low (a warm environment: the same process,
// so the peak RSS covers every invocation). `node bench/settlement-bundle.mjs <object key>` with
// a Lambda-like environment (bench/settlement.ts gives it). Prints one JSON line: wall time,
// peak RSS and the number of invocations.
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs'

const key = process.argv[2] ?? ''
const { handler } = await import(new URL('../dist/lambda.mjs', import.meta.url).href)
const queueUrl = process.env.SETTLEMENT_QUEUE_URL
const queueArn = `arn:aws:sqs:${process.env.AWS_REGION}:000000000000:${queueUrl.split('/').pop()}`
/** Lambda's longest invocation (SETTLEMENT_BENCH_INVOCATION_SECONDS shortens it, to see continuations on a small file). */
const INVOCATION_MS = Number(process.env.SETTLEMENT_BENCH_INVOCATION_SECONDS ?? 900) * 1000
/** A bound on the continuations followed: a file that never finishes fails the bench instead of looping. */
const MAX_INVOCATIONS = 20

const sqsRecord = (messageId, body, receiveCount) => ({ messageId, receiptHandle: messageId, body, attributes: { ApproximateReceiveCount: String(receiveCount) }, messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: queueArn, awsRegion: process.env.AWS_REGION })
const invoke = async (record, n) => {
  const deadline = Date.now() + INVOCATION_MS
  const response = await handler({ Records: [record] }, { awsRequestId: `bench-${n}`, functionName: 'bench', getRemainingTimeInMillis: () => deadline - Date.now() })
  if (response.batchItemFailures.length > 0) throw new Error(`the settlement message failed (invocation ${n})`)
}

const sqs = new SQSClient({})
/**
 * The continuation waiting on the settlement queue, if any. The queue also holds S3's own
 * notifications of the bench's uploads (the bench hands the handler its record directly, so
 * they would reconcile the file a second time): those are deleted unread.
 */
const nextContinuation = async () => {
  const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }))
  let continuation
  for (const message of Messages) {
    const body = JSON.parse(message.Body ?? '{}')
    if (body.type === 'settlement-continuation' && continuation === undefined) continuation = message
    else await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }))
  }
  return continuation
}

const started = performance.now()
const notification = JSON.stringify({ Records: [{ eventSource: 'aws:s3', s3: { bucket: { name: process.env.SETTLEMENT_BUCKET_NAME }, object: { key, eTag: `bench-bundle-${key}` } } }] })
await invoke(sqsRecord('bench', notification, 1), 1)
let invocations = 1
for (let message = await nextContinuation(); message !== undefined; message = await nextContinuation()) {
  if (invocations === MAX_INVOCATIONS) throw new Error(`the file was not reconciled in ${MAX_INVOCATIONS} invocations`)
  invocations += 1
  await invoke(sqsRecord(message.MessageId, message.Body, 1), invocations)
  await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }))
}
const wallMs = performance.now() - started
process.stdout.write(`${JSON.stringify({ wallMs, maxRssKiB: process.resourceUsage().maxRSS, invocations })}\n`)
process.exit(0)
