import { randomUUID } from 'node:crypto'
import { TransactionCanceledException, TransactionConflictException, type DynamoDBClient, type TransactWriteItemsCommandInput } from '@aws-sdk/client-dynamodb'
import type { Teardownable } from './build.js'

/** What an injection did so far. */
export interface Injection {
  /** Calls it failed. */
  readonly injected: number
  /** Calls it let through to DynamoDB. */
  readonly passed: number
  /** Stops failing calls. */
  stop: () => void
}

/** Options of cancelTransactions. */
export interface CancelOptions {
  /** The cancellation reason of the throttled item (`ThrottlingError` unless given). */
  reason?: string
  /** How many transactions to cancel before letting them through; all of them unless given. */
  times?: number
  /** Which item (by position) the reason is given for; the others say `None`. */
  item?: number
}

/**
 * Makes the client's TransactWriteItems calls fail as DynamoDB cancels a throttled (or
 * conflicting) transaction: the SDK's own TransactionCanceledException, a 400 with one reason
 * per item. It sits where a real answer is read (top of the deserialize step, below the SDK's
 * retry middleware), so the SDK treats it as a real one. No request is sent for a failed call.
 */
export function cancelTransactions (t: Teardownable, dynamodb: DynamoDBClient, { reason = 'ThrottlingError', times = Infinity, item = 0 }: CancelOptions = {}): Injection {
  return inject(t, dynamodb, 'TransactWriteItemsCommand', times, (input) => {
    const count = (input as TransactWriteItemsCommandInput).TransactItems?.length ?? 1
    return new TransactionCanceledException({
      message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${Array.from({ length: count }, (_, i) => i === item ? reason : 'None').join(', ')}]`,
      $metadata: { httpStatusCode: 400, requestId: `injected-${randomUUID()}` },
      CancellationReasons: Array.from({ length: count }, (_, i) => i === item ? { Code: reason, Message: 'Throughput exceeds the current capacity of your table or index.' } : { Code: 'None' })
    })
  })
}

/** Makes the client's calls of one single-item write command fail as meeting a transaction on the same item does. */
export function conflictWrites (t: Teardownable, dynamodb: DynamoDBClient, commandName: string, { times = Infinity }: { times?: number } = {}): Injection {
  return inject(t, dynamodb, commandName, times, () => new TransactionConflictException({
    message: 'Transaction is ongoing for the item',
    $metadata: { httpStatusCode: 400, requestId: `injected-${randomUUID()}` }
  }))
}

function inject (t: Teardownable, dynamodb: DynamoDBClient, commandName: string, times: number, fail: (input: unknown) => Error): Injection {
  const name = `testFault-${randomUUID()}`
  const state = { injected: 0, passed: 0, stopped: false }
  dynamodb.middlewareStack.add((next, context) => async (args) => {
    if (context.commandName === commandName && !state.stopped) {
      if (state.injected < times) {
        state.injected++
        throw fail(args.input)
      }
      state.passed++
    }
    return next(args)
  }, { step: 'deserialize', priority: 'high', name })
  const stop = (): void => {
    state.stopped = true
    dynamodb.middlewareStack.remove(name)
  }
  t.teardown(stop)
  return {
    get injected () { return state.injected },
    get passed () { return state.passed },
    stop
  }
}
