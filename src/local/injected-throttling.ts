import { randomUUID } from 'node:crypto'
import { ProvisionedThroughputExceededException, ThrottlingException, type DynamoDBClient } from '@aws-sdk/client-dynamodb'

/** What every injected error says, so no one takes it for a real one. */
export const INJECTED_MESSAGE = 'injected by LOCAL_FAULTS_FILE'

/** The throttling errors DynamoDB answers with, by name. */
export type ThrottlingErrorName = 'ProvisionedThroughputExceededException' | 'ThrottlingException'

/** Options of injectThrottling. */
export interface ThrottlingOptions {
  /** The share of calls (0 to 1) to fail now; read on every attempt. */
  rate: () => number
  /** A number in [0, 1); Math.random unless a test needs a sequence. */
  random?: () => number
  /** Told of each injected error: its name and the command it failed. */
  onInjected?: (name: ThrottlingErrorName, commandName: string) => void
}

/** The name the middleware is registered under in the client's stack. */
export const INJECTED_THROTTLING_MIDDLEWARE = 'paylithInjectedThrottling'

/**
 * Makes a DynamoDB client fail a share of its calls as a throttled table would, with the SDK's
 * own exception classes (a 400, `$fault: client`, `$metadata`), one of the two at random. It
 * sits at the top of the deserialize step: below the retry middleware (finalizeRequest, high)
 * and the signer, where a real throttling error surfaces once its response is read, so the
 * SDK's retry strategy sees each one as it sees a real one (retried with the throttling
 * backoff, from the retry quota) and every attempt is a new draw. No request is sent for an
 * injected failure.
 */
export function injectThrottling (client: DynamoDBClient, { rate, random = Math.random, onInjected }: ThrottlingOptions): void {
  client.middlewareStack.add((next, context) => async (args) => {
    const share = rate()
    if (share > 0 && random() < share) {
      const name: ThrottlingErrorName = random() < 0.5 ? 'ProvisionedThroughputExceededException' : 'ThrottlingException'
      const commandName = context.commandName ?? 'unknown'
      onInjected?.(name, commandName)
      const options = { message: `${name} on ${commandName}: ${INJECTED_MESSAGE}`, $metadata: { httpStatusCode: 400, requestId: `injected-${randomUUID()}` } }
      throw name === 'ThrottlingException' ? new ThrottlingException(options) : new ProvisionedThroughputExceededException(options)
    }
    return next(args)
  }, { step: 'deserialize', priority: 'high', name: INJECTED_THROTTLING_MIDDLEWARE, override: true })
}
