// One settlement file reconciled by the Lambda bundle (dist/lambda.mjs) in a process of its
// own, as Lambda runs it: the handler gets one SQS record from the settlement queue carrying
// the S3 notification. `node bench/settlement-bundle.mjs <object key>` with a Lambda-like
// environment (bench/settlement.ts gives it). Prints one JSON line: wall time and peak RSS.
const key = process.argv[2] ?? ''
const { handler } = await import(new URL('../dist/lambda.mjs', import.meta.url).href)
const queueName = process.env.SETTLEMENT_QUEUE_URL.split('/').pop()
const body = JSON.stringify({ Records: [{ eventSource: 'aws:s3', s3: { bucket: { name: process.env.SETTLEMENT_BUCKET_NAME }, object: { key, eTag: `bench-bundle-${key}` } } }] })
const event = { Records: [{ messageId: 'bench', receiptHandle: 'bench', body, attributes: { ApproximateReceiveCount: '1' }, messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: `arn:aws:sqs:${process.env.AWS_REGION}:000000000000:${queueName}`, awsRegion: process.env.AWS_REGION }] }
// Lambda's longest invocation: no continuation in this measure.
const deadline = Date.now() + 15 * 60_000
const started = performance.now()
const response = await handler(event, { awsRequestId: 'bench', functionName: 'bench', getRemainingTimeInMillis: () => deadline - Date.now() })
const wallMs = performance.now() - started
if (response.batchItemFailures.length > 0) throw new Error('the settlement message failed')
process.stdout.write(`${JSON.stringify({ wallMs, maxRssKiB: process.resourceUsage().maxRSS })}\n`)
process.exit(0)
