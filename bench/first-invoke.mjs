// One cold start, as Lambda does it: import a bundle, then one API Gateway v2
// `GET /v1/payments/{id}` of a payment that does not exist, which reads DynamoDB and answers
// 404. Prints, last, the process's CPU time (user + system, ms), its wall time since it started
// (ms, from performance.timeOrigin) and its peak RSS (KiB) as JSON, all taken at that response.
// Used by bench/cold-start.ts for paylith's bundle and the naive Lambdalith alike; the table,
// the endpoints and the API key come from the environment it is given. With `--then-create`
// (paylith's bundles only: the naive one has no such route) it then makes a second request to a
// route not used yet, `POST /v1/payments` (a create, 201), and prints that request's CPU too
// (`createCpuMs`): what the first request to another route pays for what loads on first use.
const id = 'pay_01JBENCH0000000000000000AA'
const { handler } = await import(process.argv[2])
const event = (method, path, headers = {}, body) => ({
  version: '2.0',
  routeKey: '$default',
  rawPath: path,
  rawQueryString: '',
  headers: { host: 'abc.execute-api.us-east-1.amazonaws.com', authorization: `Bearer ${process.env.BENCH_API_KEY}`, ...headers },
  requestContext: { accountId: '1', apiId: 'abc', domainName: 'abc.execute-api.us-east-1.amazonaws.com', domainPrefix: 'abc', http: { method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.1', userAgent: 'bench' }, requestId: 'r', routeKey: '$default', stage: '$default', time: '', timeEpoch: 0 },
  ...(body !== undefined && { body }),
  isBase64Encoded: false
})
const context = { awsRequestId: 'bench', getRemainingTimeInMillis: () => 30000 }
const cpuMs = () => { const { user, system } = process.cpuUsage(); return (user + system) / 1000 }
const response = await handler(event('GET', `/v1/payments/${id}`), context)
if (response.statusCode !== 404) throw new Error(`first invoke answered ${response.statusCode}: ${response.body}`)
const first = { cpuMs: cpuMs(), wallMs: performance.now(), maxRssKiB: process.resourceUsage().maxRSS }
if (process.argv[3] === '--then-create') {
  const body = JSON.stringify({ amount: 1999, currency: 'EUR', customerId: 'cus_bench_cold' })
  const created = await handler(event('POST', '/v1/payments', { 'content-type': 'application/json', 'idempotency-key': `bench-${process.pid}-${Date.now()}` }, body), context)
  if (created.statusCode !== 201) throw new Error(`the create answered ${created.statusCode}: ${created.body}`)
  first.createCpuMs = cpuMs() - first.cpuMs
}
process.stdout.write(`\n${JSON.stringify(first)}`)
