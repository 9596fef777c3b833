import type { DestinationStream } from 'pino'
import { isObject } from '../lib/is-object.js'
import type { MetricsDestination } from '../observability/metrics.js'

/** Where the local server writes its log lines and metric documents. */
export interface LocalOutput {
  /** pino's destination; undefined for its own: JSON lines on stdout. */
  logs: DestinationStream | undefined
  metrics: MetricsDestination
}

/** What decides the local output: whether stdout is a terminal, and LOG_METRICS. */
export interface LocalOutputOptions {
  isTTY: boolean
  logMetrics: boolean
  stdout?: MetricsDestination
}

/** A parsed log line or metric document. */
type Line = Record<string, unknown>

/** Keys every line has, or a random id per invocation: noise on a terminal. */
const HIDDEN_KEYS = 'pid,hostname,service,awsRequestId'

/** Requests whose completion has not been seen yet, at most (a request that never ends must not pile up). */
const MAX_OPEN_REQUESTS = 1_000

/**
 * Not on a terminal (pipes, CI, containers, and Lambda, which never calls this): JSON lines
 * on stdout, logs and metric documents alike, exactly as in AWS. On a terminal: one short,
 * coloured line per log event (one per request, not two multi-line objects), and metric
 * documents only when LOG_METRICS asks for them, one line each.
 */
export async function localOutput ({ isTTY, logMetrics, stdout = process.stdout }: LocalOutputOptions): Promise<LocalOutput> {
  if (!isTTY) return { logs: undefined, metrics: stdout }
  const { prettyFactory } = await import('pino-pretty')
  const pretty = prettyFactory({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: HIDDEN_KEYS, singleLine: true })
  const compact = terminalLines()
  const print = (line: Line | undefined): void => { if (line !== undefined) stdout.write(pretty(line)) }
  return {
    logs: { write: (chunk: string) => { print(compact(JSON.parse(chunk) as Line)) } },
    metrics: {
      write: (chunk: string) => {
        if (!logMetrics) return
        for (const document of chunk.split('\n')) if (document !== '') print(metricLine(JSON.parse(document) as Line))
      }
    }
  }
}

/**
 * Rewrites log lines for a terminal: Fastify's "incoming request" line is held back and its
 * "request completed" line becomes `POST /v1/payments 201 12ms`; other lines pass unchanged.
 */
export function terminalLines (): (line: Line) => Line | undefined {
  const open = new Map<unknown, { method?: unknown, url?: unknown }>()
  return (line) => {
    const { req, res, responseTime, ...rest } = line
    if (line.msg === 'incoming request' && isObject(req)) {
      if (open.size >= MAX_OPEN_REQUESTS) open.delete(open.keys().next().value)
      open.set(line.reqId, { method: req.method, url: req.url })
      return undefined
    }
    if (line.msg === 'request completed' && isObject(res)) {
      const request = open.get(line.reqId)
      open.delete(line.reqId)
      const took = typeof responseTime === 'number' ? ` ${Math.round(responseTime)}ms` : ''
      return { ...rest, msg: `${String(request?.method ?? '?')} ${String(request?.url ?? '?')} ${String(res.statusCode)}${took}` }
    }
    return line
  }
}

/** A metric document as one log-like line: `metric PaymentSucceeded 1` with its dimensions. */
export function metricLine (document: Line): Line {
  const { _aws: aws, ...values } = document
  const definition = isObject(aws) && Array.isArray(aws.CloudWatchMetrics) ? aws.CloudWatchMetrics[0] as { Metrics?: Array<{ Name?: string }>, Dimensions?: string[][] } : {}
  const name = definition.Metrics?.[0]?.Name ?? '?'
  const dimensions = Object.fromEntries((definition.Dimensions?.[0] ?? []).map((key) => [key, values[key]]))
  const time = isObject(aws) ? aws.Timestamp : undefined
  return { level: 30, time, msg: `metric ${name} ${String(values[name])}`, ...dimensions }
}
