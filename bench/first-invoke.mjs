// One cold start, as Lambda does it: import a bundle, then one API Gateway v2
// `GET /v1/payments/{id}` of a payment that does not exist, which reads DynamoDB and answers
// 404. Prints, last, the process's CPU time (user + system, ms) and peak RSS (KiB) as JSON.
// Used by bench/cold-start.ts for paylith's bundle and the naive Lambdalith alike; the table,
// the endpoints and the API key come from the environment it is given.
const id = 'pay_01JBENCH0000000000000000AA'
const path = `/v1/payments/${id}`
const { handler } = await import(process.argv[2])
const response = await handler({
  version: '2.0',
  routeKey: '$default',
  rawPath: path,
  rawQueryString: '',
  headers: { host: 'abc.execute-api.us-east-1.amazonaws.com', authorization: `Bearer ${process.env.BENCH_API_KEY}` },
  requestContext: { accountId: '1', apiId: 'abc', domainName: 'abc.execute-api.us-east-1.amazonaws.com', domainPrefix: 'abc', http: { method: 'GET', path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.1', userAgent: 'bench' }, requestId: 'r', routeKey: '$default', stage: '$default', time: '', timeEpoch: 0 },
  isBase64Encoded: false
}, { awsRequestId: 'bench', getRemainingTimeInMillis: () => 30000 })
if (response.statusCode !== 404) throw new Error(`first invoke answered ${response.statusCode}: ${response.body}`)
const { user, system } = process.cpuUsage()
process.stdout.write(`\n${JSON.stringify({ cpuMs: (user + system) / 1000, maxRssKiB: process.resourceUsage().maxRSS })}`)
