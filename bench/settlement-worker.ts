// One settlement file reconciled in a process of its own, so its peak RSS is the worker's:
// `node --import tsx bench/settlement-worker.ts <object key>` with the suite's environment.
// Prints one JSON line: wall time, time with a DynamoDB call in flight, peak RSS, the settlement.
import type { Context, SQSEvent } from 'aws-lambda'
import { loadConfig } from '../src/config/load.js'
import { bootstrapLocal } from '../src/local/bootstrap.js'
import { createService } from '../src/service.js'

const key = process.argv[2] ?? ''
const config = loadConfig(process.env)
const { config: complete, clients } = await bootstrapLocal(config)
// The time at least one DynamoDB call is in flight: the emulator's share of the wall time.
let inFlight = 0
let since = 0
let dynamodbMs = 0
clients.dynamodb.middlewareStack.add((next) => async (args) => {
  if (inFlight++ === 0) since = performance.now()
  try {
    return await next(args)
  } finally {
    if (--inFlight === 0) dynamodbMs += performance.now() - since
  }
}, { step: 'initialize', name: 'benchInFlight' })
const service = createService(complete, { ...clients, metricsDestination: { write: () => true } })
const worker = service.workers.queues[complete.settlements.queueName]
if (worker === undefined) throw new Error('no settlement worker')
const body = JSON.stringify({ Records: [{ eventSource: 'aws:s3', s3: { bucket: { name: complete.settlements.bucketName }, object: { key, eTag: `bench-${key}` } } }] })
const event = { Records: [{ messageId: 'bench', body }] } as unknown as SQSEvent
// Lambda's longest invocation: no continuation in this measure.
const deadline = Date.now() + 15 * 60_000
const context = { awsRequestId: 'bench', getRemainingTimeInMillis: () => deadline - Date.now() } as unknown as Context
const started = performance.now()
const response = await worker(event, context)
const wallMs = performance.now() - started
if (response.batchItemFailures.length > 0) throw new Error('the settlement message failed')
const { settlements } = await service.deps.settlements.list({ limit: 1 })
process.stdout.write(`${JSON.stringify({ wallMs, dynamodbMs, maxRssKiB: process.resourceUsage().maxRSS, settlement: settlements[0] })}\n`)
clients.dynamodb.destroy()
clients.sqs.destroy()
