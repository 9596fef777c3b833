import { AsyncLocalStorage } from 'node:async_hooks'
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino'
import type { Config } from '../config/load.js'

/** Keys that identify the unit of work a log line belongs to. */
export interface LogContext {
  awsRequestId?: string
  [key: string]: string | undefined
}

const logContext = new AsyncLocalStorage<LogContext>()

/** Runs `fn` so that every log line written inside it (app or worker) carries `context`. */
export function withLogContext<T> (context: LogContext, fn: () => T): T {
  return logContext.run({ ...logContext.getStore(), ...context }, fn)
}

/**
 * Runs `fn` outside any unit of work, for lines about the process rather than one invocation
 * (a timer such as the circuit breaker's is started inside an invocation and would inherit it).
 */
export function withoutLogContext<T> (fn: () => T): T {
  return logContext.exit(fn)
}

/** A copy of the context of the unit of work in progress (empty outside any). */
export function currentLogContext (): LogContext {
  return { ...logContext.getStore() }
}

/** Paths pino replaces with `[Redacted]`: credentials and anything card-like we might be handed. */
const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["stripe-signature"]',
  'req.headers["webhook-signature"]',
  '*.apiKey',
  '*.secret',
  '*.clientSecret',
  '*.password',
  '*.cardNumber',
  '*.card.number',
  '*.card.cvc'
]

/** Builds the one pino logger the app and the workers share. */
export function createLogger (config: Pick<Config, 'logLevel'>, destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    level: config.logLevel,
    base: { service: 'paylith' },
    redact: { paths: REDACT_PATHS, censor: '[Redacted]' },
    // A fresh object per line: pino merges the line's own fields into what the mixin returns,
    // so returning the stored context itself would carry them into every later line.
    mixin: currentLogContext
  }
  return destination === undefined ? pino(options) : pino(options, destination)
}
