// One cold start, as Lambda does it: import the bundle, then one API Gateway v2 invoke.
// Prints the process's peak RSS (KiB) last. Used by bench/cold-start.ts.
Object.assign(process.env, {
  AWS_LAMBDA_FUNCTION_NAME: 'bench',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  WORK_QUEUE_URL: 'http://127.0.0.1:9/000000000000/paylith-work',
  DEAD_LETTER_QUEUE_URL: 'http://127.0.0.1:9/000000000000/paylith-work-dlq',
  SETTLEMENT_QUEUE_URL: 'http://127.0.0.1:9/000000000000/paylith-settlements',
  API_KEYS: `${'a'.repeat(64)}=admin`,
  PAYMENT_PROVIDER: 'sandbox',
  LOG_LEVEL: 'silent'
})
const { handler } = await import(process.argv[2])
const response = await handler({
  version: '2.0',
  routeKey: '$default',
  rawPath: '/health',
  rawQueryString: '',
  headers: { host: 'abc.execute-api.us-east-1.amazonaws.com' },
  requestContext: { accountId: '1', apiId: 'abc', domainName: 'abc.execute-api.us-east-1.amazonaws.com', domainPrefix: 'abc', http: { method: 'GET', path: '/health', protocol: 'HTTP/1.1', sourceIp: '203.0.113.1', userAgent: 'bench' }, requestId: 'r', routeKey: '$default', stage: '$default', time: '', timeEpoch: 0 },
  isBase64Encoded: false
}, { awsRequestId: 'bench', getRemainingTimeInMillis: () => 30000 })
if (response.statusCode !== 200) throw new Error(`first invoke answered ${response.statusCode}`)
process.stdout.write(`\n${process.resourceUsage().maxRSS}`)
