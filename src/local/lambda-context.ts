import { randomUUID } from 'node:crypto'
import type { Context } from 'aws-lambda'

/** A Lambda `Context` for local invocations, with a real deadline. */
export function createLocalContext (functionName: string, timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs
  const fail = (): never => { throw new Error('callback-style completion is not supported; return a promise') }
  return {
    awsRequestId: randomUUID(),
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: fail,
    fail,
    succeed: fail
  }
}

/** An invocation ran past its time limit; Lambda would have failed the whole batch. */
export class InvocationTimeoutError extends Error {
  constructor (timeoutMs: number) {
    super(`the invocation did not finish within ${timeoutMs} ms`)
    this.name = 'InvocationTimeoutError'
  }
}

/**
 * Invokes like Lambda does: with a context whose deadline is `timeoutMs` away, failing with
 * InvocationTimeoutError once the deadline passes (the handler's work is then abandoned).
 */
export async function invokeLocally<T> (invoke: (event: unknown, context: Context) => Promise<unknown>, event: unknown, functionName: string, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new InvocationTimeoutError(timeoutMs)) }, timeoutMs) })
  try {
    return await Promise.race([invoke(event, createLocalContext(functionName, timeoutMs)), deadline]) as T
  } finally {
    clearTimeout(timer)
  }
}
