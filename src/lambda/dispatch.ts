import type {
  APIGatewayProxyEvent,
  APIGatewayProxyEventV2,
  Context,
  DynamoDBBatchResponse,
  DynamoDBStreamEvent,
  ScheduledEvent,
  SQSBatchResponse,
  SQSEvent
} from 'aws-lambda'
import { UnsupportedEventError } from '../domain/errors.js'
import type { WorkerRegistry } from '../workers/types.js'
import { isObject } from '../lib/is-object.js'

/** Answers an API Gateway event (v1 or v2) through the Fastify app. */
export type HttpHandler = (event: APIGatewayProxyEvent | APIGatewayProxyEventV2, context: Context) => Promise<unknown>

/** The one entry for every event the function receives, used by lambda.ts and the local pollers. */
export type Dispatch = (event: unknown, context: Context) => Promise<unknown>

/** Sources of a scheduled warm-up ping (serverless-plugin-warmup and lambda-warmer). */
const WARMUP_SOURCES = new Set(['serverless-plugin-warmup', 'lambda-warmer'])

/** What a warm-up ping is answered with. */
const WARMUP_RESPONSE = { warmed: true } as const

/**
 * Builds the dispatcher: API Gateway events go to the app, SQS and DynamoDB Stream batches to
 * the worker registered for their queue or table, a scheduled EventBridge event to the
 * sweeper, a warm-up ping is answered at once, and anything else is an UnsupportedEventError.
 */
export function createDispatcher ({ http, workers }: { http: HttpHandler; workers: WorkerRegistry }): Dispatch {
  return async (event, context) => {
    if (isWarmup(event)) return WARMUP_RESPONSE
    if (isScheduledEvent(event) && workers.scheduled !== undefined) return workers.scheduled(event, context)
    if (isHttpApiEvent(event)) return http(withoutStagePrefix(event), context)
    if (isRestApiEvent(event)) return http(event, context)

    const records = batchRecords(event)
    if (records !== undefined) {
      const source = records[0]?.eventSource
      if (source === 'aws:sqs') return dispatchSqs(event as SQSEvent, context, workers)
      if (source === 'aws:dynamodb') return dispatchStream(event as DynamoDBStreamEvent, context, workers)
    }
    throw new UnsupportedEventError(`no handler for this event: ${describeEvent(event)}`)
  }
}

async function dispatchSqs (event: SQSEvent, context: Context, workers: WorkerRegistry): Promise<SQSBatchResponse> {
  const arn = singleSourceArn(event.Records.map((record) => record.eventSourceARN))
  const queueName = arn.split(':')[5] ?? ''
  const worker = workers.queues[queueName]
  if (worker === undefined) throw new UnsupportedEventError(`no worker is registered for SQS queue "${queueName}" (${arn})`)
  const response = await worker(event, context)
  return checkBatchResponse(response, event.Records.map((record) => record.messageId), arn)
}

async function dispatchStream (event: DynamoDBStreamEvent, context: Context, workers: WorkerRegistry): Promise<DynamoDBBatchResponse> {
  const arn = singleSourceArn(event.Records.map((record) => record.eventSourceARN ?? ''))
  // arn:aws:dynamodb:<region>:<account>:table/<table>/stream/<label>
  const tableName = arn.split(':')[5]?.split('/')[1] ?? ''
  const worker = workers.streams[tableName]
  if (worker === undefined) throw new UnsupportedEventError(`no worker is registered for the stream of table "${tableName}" (${arn})`)
  const response = await worker(event, context)
  return checkBatchResponse(response, event.Records.map((record) => record.dynamodb?.SequenceNumber ?? ''), arn)
}

/**
 * A worker's answer must name only records of the batch; Lambda would otherwise fail the whole
 * batch with a vaguer message. Better to say which worker broke the contract.
 */
function checkBatchResponse<T extends SQSBatchResponse | DynamoDBBatchResponse> (response: T, ids: string[], arn: string): T {
  if (!Array.isArray(response?.batchItemFailures)) throw new TypeError(`the worker for ${arn} returned no batchItemFailures list`)
  const known = new Set(ids)
  for (const failure of response.batchItemFailures) {
    if (!known.has(failure.itemIdentifier ?? '')) {
      throw new TypeError(`the worker for ${arn} reported a failure for ${JSON.stringify(failure.itemIdentifier)}, which is not in the batch`)
    }
  }
  return response
}

function singleSourceArn (arns: string[]): string {
  const unique = new Set(arns)
  if (unique.size !== 1) throw new UnsupportedEventError(`a batch must come from one source, found ${unique.size}: ${[...unique].join(', ')}`)
  return arns[0] as string
}

function isWarmup (event: unknown): boolean {
  return isObject(event) && typeof event.source === 'string' && WARMUP_SOURCES.has(event.source)
}

function isScheduledEvent (event: unknown): event is ScheduledEvent {
  return isObject(event) && event.source === 'aws.events' && event['detail-type'] === 'Scheduled Event'
}

function isHttpApiEvent (event: unknown): event is APIGatewayProxyEventV2 {
  return isObject(event) && event.version === '2.0' && isObject(event.requestContext) && isObject(event.requestContext.http)
}

function isRestApiEvent (event: unknown): event is APIGatewayProxyEvent {
  return isObject(event) && typeof event.httpMethod === 'string' && isObject(event.requestContext)
}

function batchRecords (event: unknown): Array<{ eventSource?: unknown }> | undefined {
  if (!isObject(event) || !Array.isArray(event.Records) || event.Records.length === 0) return undefined
  return event.Records as Array<{ eventSource?: unknown }>
}

/**
 * HTTP API puts a named stage in `rawPath` (`/prod/v1/payments`) when called on its
 * execute-api domain; the app's routes do not know the stage, so it is removed. The
 * `$default` stage and custom domains have no prefix.
 * NOTE: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-stages.html
 */
function withoutStagePrefix (event: APIGatewayProxyEventV2): APIGatewayProxyEventV2 {
  const { stage, domainName } = event.requestContext
  const prefix = `/${stage}`
  const onExecuteApi = /\.execute-api\.[^.]+\.amazonaws\.com(\.cn)?$/.test(domainName ?? '')
  if (stage === '$default' || !onExecuteApi) return event
  if (event.rawPath !== prefix && !event.rawPath.startsWith(`${prefix}/`)) return event
  return { ...event, rawPath: event.rawPath.slice(prefix.length) || '/' }
}

function describeEvent (event: unknown): string {
  if (event === null || typeof event !== 'object') return `a ${event === null ? 'null' : typeof event}`
  if (Array.isArray(event)) return `an array of ${event.length}`
  const keys = Object.keys(event).slice(0, 8)
  const records = (event as { Records?: unknown }).Records
  const source = Array.isArray(records) ? `, Records[0].eventSource=${JSON.stringify((records[0] as { eventSource?: unknown } | undefined)?.eventSource)}` : ''
  return `an object with keys [${keys.join(', ')}]${source}`
}
