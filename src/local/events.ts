import { randomUUID } from 'node:crypto'
import { marshall } from '@aws-sdk/util-dynamodb'
import type { APIGatewayProxyEventV2, DynamoDBStreamEvent, ScheduledEvent, SQSEvent } from 'aws-lambda'
import type { LocalResources } from './bootstrap.js'

/** The kinds of example event `npm run invoke` generates. */
export const EXAMPLE_EVENT_KINDS = ['apigw', 'sqs', 'stream', 'schedule'] as const
/** One of EXAMPLE_EVENT_KINDS. */
export type ExampleEventKind = typeof EXAMPLE_EVENT_KINDS[number]

/** What an example event may be given: the HTTP request, the message body, the payment. */
export interface ExampleEventOptions {
  region: string
  resources: Pick<LocalResources, 'tableName' | 'streamArn' | 'queues'>
  method?: string
  /** The HTTP path, with its query string if any. */
  path?: string
  headers?: Record<string, string>
  body?: string
  paymentId?: string
}

const ACCOUNT = '000000000000'

/** An HTTP API (payload 2.0) event, as API Gateway sends it. */
export function httpApiEvent ({ method = 'GET', path = '/health', headers = {}, body }: Pick<ExampleEventOptions, 'method' | 'path' | 'headers' | 'body'>): APIGatewayProxyEventV2 {
  const [rawPath = '/', rawQueryString = ''] = path.split('?', 2)
  const domainName = 'local.execute-api.localhost'
  const now = new Date()
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString,
    headers: { host: domainName, 'user-agent': 'paylith-invoke', ...(body !== undefined && { 'content-type': 'application/json' }), ...lowerCaseKeys(headers) },
    ...(rawQueryString !== '' && { queryStringParameters: Object.fromEntries(new URLSearchParams(rawQueryString)) }),
    requestContext: {
      accountId: ACCOUNT,
      apiId: 'local',
      domainName,
      domainPrefix: 'local',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'paylith-invoke' },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime()
    },
    ...(body !== undefined && { body }),
    isBase64Encoded: false
  }
}

function lowerCaseKeys (headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]))
}

/** An SQS batch of one message on the work queue, as Lambda delivers it; by default a charge command. */
function sqsExampleEvent ({ region, resources, body, paymentId = 'pay_01JDQ3V0J6Q8ZC7W8E5T0R2N4M' }: ExampleEventOptions): SQSEvent {
  const now = String(Date.now())
  return {
    Records: [{
      messageId: randomUUID(),
      receiptHandle: `local-${randomUUID()}`,
      body: body ?? JSON.stringify({ type: 'charge', paymentId }),
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: now, SenderId: ACCOUNT, ApproximateFirstReceiveTimestamp: now },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: resources.queues.work.arn,
      awsRegion: region
    }]
  }
}

/** A DynamoDB Stream batch of one record: the INSERT of a new pending payment, with its image. */
function streamExampleEvent ({ region, resources, paymentId = 'pay_01JDQ3V0J6Q8ZC7W8E5T0R2N4M' }: ExampleEventOptions): DynamoDBStreamEvent {
  const at = new Date().toISOString()
  const keys = { pk: `PAYMENT#${paymentId}`, sk: 'PAYMENT' }
  return {
    Records: [{
      eventID: randomUUID().replace(/-/g, ''),
      eventName: 'INSERT',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: region,
      eventSourceARN: resources.streamArn,
      dynamodb: {
        ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
        Keys: marshall(keys) as NonNullable<NonNullable<DynamoDBStreamEvent['Records'][number]['dynamodb']>['Keys']>,
        NewImage: marshall({ ...keys, id: paymentId, status: 'pending', amount: 1999, currency: 'EUR', customerId: 'cus_local', version: 1, createdAt: at, updatedAt: at }) as NonNullable<NonNullable<DynamoDBStreamEvent['Records'][number]['dynamodb']>['NewImage']>,
        SequenceNumber: String(Date.now()),
        SizeBytes: 256,
        StreamViewType: 'NEW_AND_OLD_IMAGES'
      }
    }]
  }
}

/** The event EventBridge sends for a scheduled rule (the sweeper's). */
export function scheduledExampleEvent ({ region }: Pick<ExampleEventOptions, 'region'>): ScheduledEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: ACCOUNT,
    time: new Date().toISOString(),
    region,
    resources: [`arn:aws:events:${region}:${ACCOUNT}:rule/paylith-sweep`],
    detail: {}
  }
}

/** A generated example of one kind of event, for this run's table and queues. */
export function exampleEvent (kind: ExampleEventKind, options: ExampleEventOptions): unknown {
  switch (kind) {
    case 'apigw': return httpApiEvent(options)
    case 'sqs': return sqsExampleEvent(options)
    case 'stream': return streamExampleEvent(options)
    case 'schedule': return scheduledExampleEvent(options)
  }
}
