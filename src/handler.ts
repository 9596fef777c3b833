import awsLambdaFastify from '@fastify/aws-lambda'
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, Context } from 'aws-lambda'
import type { App } from './app.js'
import { createDispatcher, type HttpHandler } from './dispatch.js'
import { withLogContext } from './logger.js'
import type { WorkerRegistry } from './workers/types.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The Lambda event and context of a request that came through Lambda; empty locally. */
    awsLambda: { event?: APIGatewayProxyEvent | APIGatewayProxyEventV2; context?: Context }
  }
}

/** The function Lambda (and the local pollers) invoke with any event. */
export type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>

/**
 * Puts the app behind @fastify/aws-lambda, the workers behind the dispatcher, and makes every
 * log line of the invocation carry its Lambda request id.
 */
export function createLambdaHandler ({ app, workers }: { app: App; workers: WorkerRegistry }): LambdaHandler {
  // Query strings mean the same through Lambda as on the local server: `a=1,2` stays one value.
  const http = awsLambdaFastify(app, { parseCommaSeparatedQueryParams: false }) as HttpHandler
  const dispatch = createDispatcher({ http, workers })
  return (event, context) => withLogContext({ awsRequestId: context.awsRequestId }, () => dispatch(event, context))
}
