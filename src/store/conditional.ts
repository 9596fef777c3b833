import { ConditionalCheckFailedException, TransactionConflictException, type DynamoDBClient, type PutItemCommand, type UpdateItemCommand } from '@aws-sdk/client-dynamodb'
import { TransientReason, retryTransient, type TransientRetry } from './transient.js'

/**
 * Sends a conditional write whose failed condition is an answer, not an error ("already
 * stored", "already claimed", "not newer"): true if it was written, false if the condition
 * failed. Any other error is thrown. With `retry`, a write refused because a transaction was
 * writing the same item (TransactionConflictException, which the SDK does not retry) is sent
 * again as the policy says; its condition keeps a second try safe.
 */
export async function writeIfCondition (
  dynamodb: DynamoDBClient,
  command: PutItemCommand | UpdateItemCommand,
  retry?: { operation: string, policy: TransientRetry }
): Promise<boolean> {
  const writeOnce = async (): Promise<boolean> => {
    try {
      // The client's send is overloaded per command type; both shapes answer the same way here.
      await dynamodb.send(command as PutItemCommand)
      return true
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false
      throw error
    }
  }
  if (retry === undefined) return writeOnce()
  const outcome = await retryTransient<boolean | TransactionConflictException>(retry.operation, retry.policy, async () => {
    try {
      return { value: await writeOnce() }
    } catch (error) {
      if (!(error instanceof TransactionConflictException)) throw error
      return { value: error, transient: TransientReason.transactionConflictException }
    }
  })
  if (outcome instanceof TransactionConflictException) throw outcome
  return outcome
}
