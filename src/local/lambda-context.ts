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
