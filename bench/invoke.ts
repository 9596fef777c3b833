import serverless from 'serverless-http'
import { BENCH_KEY, benchConfig, benchService, interleave, median, ratioOf, type BenchRow } from './lib.js'

// M4: one API Gateway v2 invocation through our handler vs app.inject of the same route.
// M5: throughput of our handler vs the same app behind serverless-http.
// Both in-process on GET /health (no I/O), so the figures are the adapters' own cost.
const RUNS = Number(process.env.BENCH_RUNS ?? 2_000)
const THROUGHPUT_MS = Number(process.env.BENCH_THROUGHPUT_MS ?? 3_000)

function event (i: number) {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/health',
    rawQueryString: '',
    headers: { host: 'abc.execute-api.us-east-1.amazonaws.com', authorization: `Bearer ${BENCH_KEY}` },
    requestContext: { accountId: '1', apiId: 'abc', domainName: 'abc.execute-api.us-east-1.amazonaws.com', domainPrefix: 'abc', http: { method: 'GET', path: '/health', protocol: 'HTTP/1.1', sourceIp: '203.0.113.1', userAgent: 'bench' }, requestId: `r${i}`, routeKey: '$default', stage: '$default', time: '', timeEpoch: 0 },
    isBase64Encoded: false
  }
}
const context = { awsRequestId: 'bench', getRemainingTimeInMillis: () => 30_000 }

async function throughput (fn: (i: number) => Promise<unknown>, ms: number): Promise<number> {
  let done = 0
  const deadline = Date.now() + ms
  while (Date.now() < deadline) await fn(done++)
  return done / (ms / 1000)
}

/** Runs M4 and M5. */
export async function run (): Promise<BenchRow[]> {
  const config = benchConfig('invoke')
  const { app, handler } = await benchService(config)
  const viaServerlessHttp = serverless(app as unknown as Parameters<typeof serverless>[0])

  const check = (response: unknown) => { if ((response as { statusCode: number }).statusCode !== 200) throw new Error('not 200') }
  const timings = await interleave(RUNS, 200, {
    handler: async (i) => { check(await handler(event(i), context as never)) },
    inject: async () => { check(await app.inject({ method: 'GET', url: '/health', headers: { host: 'abc.execute-api.us-east-1.amazonaws.com' } })) }
  })
  const ours = await throughput(async (i) => { check(await handler(event(i), context as never)) }, THROUGHPUT_MS)
  const theirs = await throughput(async (i) => { check(await viaServerlessHttp(event(i), context)) }, THROUGHPUT_MS)
  await app.close()

  const us = (ms: number) => `${(ms * 1000).toFixed(0)} µs`
  return [
    { metric: 'M4 API Gateway v2 invocation through handler (p50)', ours: us(median(timings.handler)), baseline: `app.inject: ${us(median(timings.inject))}`, ratio: ratioOf(median(timings.handler), median(timings.inject)), target: '≤ 1.15' },
    { metric: 'M5 API path throughput', ours: `${ours.toFixed(0)} req/s`, baseline: `serverless-http: ${theirs.toFixed(0)} req/s`, ratio: ratioOf(ours, theirs), target: '≥ 1.3' }
  ]
}
