import { randomUUID } from 'node:crypto'
import { marshall } from '@aws-sdk/util-dynamodb'
import type {
  APIGatewayProxyEvent,
  APIGatewayProxyEventV2,
  DynamoDBRecord,
  DynamoDBStreamEvent,
  SQSEvent,
  SQSRecord
} from 'aws-lambda'

// Events in the exact shapes AWS sends them (field names and types as in @types/aws-lambda).

const ACCOUNT = '123456789012'
const REGION = 'us-east-1'

/** An HTTP API (payload 2.0) event. */
export function httpApiEvent (options: {
  method?: string
  path?: string
  query?: string
  headers?: Record<string, string>
  cookies?: string[]
  body?: string
  base64?: boolean
  stage?: string
  domainName?: string
  requestId?: string
} = {}): APIGatewayProxyEventV2 {
  const method = options.method ?? 'GET'
  const path = options.path ?? '/health'
  const stage = options.stage ?? '$default'
  const domainName = options.domainName ?? 'abc123.execute-api.us-east-1.amazonaws.com'
  const requestId = options.requestId ?? randomUUID()
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: options.query ?? '',
    headers: { host: domainName, 'user-agent': 'test', ...options.headers },
    requestContext: {
      accountId: ACCOUNT,
      apiId: 'abc123',
      domainName,
      domainPrefix: domainName.split('.')[0] ?? '',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'test' },
      requestId,
      routeKey: '$default',
      stage,
      time: '27/Nov/2026:00:00:00 +0000',
      timeEpoch: Date.parse('2026-11-27T00:00:00Z')
    },
    isBase64Encoded: options.base64 ?? false
  }
  if (options.cookies !== undefined) event.cookies = options.cookies
  if (options.body !== undefined) event.body = options.base64 === true ? Buffer.from(options.body).toString('base64') : options.body
  if (options.query !== undefined && options.query !== '') {
    event.queryStringParameters = Object.fromEntries(new URLSearchParams(options.query))
  }
  return event
}

/** A REST API (payload 1.0) event. */
export function restApiEvent (options: {
  method?: string
  path?: string
  headers?: Record<string, string>
  multiValueHeaders?: Record<string, string[]>
  body?: string
  requestId?: string
} = {}): APIGatewayProxyEvent {
  const method = options.method ?? 'GET'
  const path = options.path ?? '/health'
  const headers = { Host: 'abc123.execute-api.us-east-1.amazonaws.com', ...options.headers }
  return {
    resource: '/{proxy+}',
    path,
    httpMethod: method,
    headers,
    multiValueHeaders: {
      ...Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
      ...options.multiValueHeaders
    },
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: { proxy: path.slice(1) },
    stageVariables: null,
    requestContext: {
      accountId: ACCOUNT,
      apiId: 'abc123',
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: '203.0.113.7',
        user: null,
        userAgent: 'test',
        userArn: null
      },
      path: `/prod${path}`,
      stage: 'prod',
      requestId: options.requestId ?? randomUUID(),
      requestTimeEpoch: Date.parse('2026-11-27T00:00:00Z'),
      resourceId: 'res123',
      resourcePath: '/{proxy+}'
    },
    body: options.body ?? null,
    isBase64Encoded: false
  }
}

/** The ARN of a queue in the test account. */
export function queueArn (queueName: string): string {
  return `arn:aws:sqs:${REGION}:${ACCOUNT}:${queueName}`
}

/** An SQS record as Lambda delivers it. */
export function sqsRecord (queueName: string, body: string, overrides: Partial<SQSRecord> = {}): SQSRecord {
  return {
    messageId: randomUUID(),
    receiptHandle: `AQEB${randomUUID()}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(Date.now()),
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: String(Date.now())
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn(queueName),
    awsRegion: REGION,
    ...overrides
  }
}

/** An SQS batch of the given bodies. */
export function sqsEvent (queueName: string, bodies: string[]): SQSEvent {
  return { Records: bodies.map((body) => sqsRecord(queueName, body)) }
}

/** The ARN of a table's stream in the test account. */
export function streamArn (tableName: string): string {
  return `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${tableName}/stream/2026-11-27T00:00:00.000`
}

/** A DynamoDB Stream record as Lambda delivers it. */
export function streamRecord (tableName: string, options: {
  pk: string
  sk?: string
  eventName?: 'INSERT' | 'MODIFY' | 'REMOVE'
  sequenceNumber: string
  newImage?: Record<string, unknown>
}): DynamoDBRecord {
  const keys = { pk: { S: options.pk }, sk: { S: options.sk ?? options.pk.split('#')[0] ?? '' } }
  return {
    eventID: randomUUID().replace(/-/g, ''),
    eventName: options.eventName ?? 'INSERT',
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: REGION,
    eventSourceARN: streamArn(tableName),
    dynamodb: {
      ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
      Keys: keys,
      NewImage: { ...keys, ...(options.newImage as object) } as NonNullable<DynamoDBRecord['dynamodb']>['NewImage'],
      SequenceNumber: options.sequenceNumber,
      SizeBytes: 64,
      StreamViewType: 'NEW_AND_OLD_IMAGES'
    }
  }
}

/** A DynamoDB Stream batch. */
export function streamEvent (records: DynamoDBRecord[]): DynamoDBStreamEvent {
  return { Records: records }
}

/** A payment as the table stream carries it: the INSERT of a new pending payment, with its image. */
export function paymentInsertRecord (tableName: string, payment: { id: string, customerId: string, amount: number, currency: string }, sequenceNumber: string): DynamoDBRecord {
  const at = new Date().toISOString()
  const image = marshall({ id: payment.id, status: 'pending', amount: payment.amount, currency: payment.currency, customerId: payment.customerId, version: 1, createdAt: at, updatedAt: at })
  return streamRecord(tableName, { pk: `PAYMENT#${payment.id}`, sk: 'PAYMENT', sequenceNumber, newImage: image })
}
