import { ConditionalCheckFailedException, type DynamoDBClient, type PutItemCommand, type UpdateItemCommand } from '@aws-sdk/client-dynamodb'

/**
 * Sends a conditional write whose failed condition is an answer, not an error ("already
 * stored", "already claimed", "not newer"): true if it was written, false if the condition
 * failed. Any other error is thrown.
 */
export async function writeIfCondition (dynamodb: DynamoDBClient, command: PutItemCommand | UpdateItemCommand): Promise<boolean> {
  try {
    // The client's send is overloaded per command type; both shapes answer the same way here.
    await dynamodb.send(command as PutItemCommand)
    return true
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false
    throw error
  }
}
