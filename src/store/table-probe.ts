import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb'

/** Whether the table answers: what readiness asks of the store. */
export interface TableProbe {
  /** The table's name, for messages. */
  readonly name: string
  /** Resolves if DynamoDB describes the table within `timeoutMs`; rejects otherwise. */
  ping: (timeoutMs: number) => Promise<void>
}

/** Builds the probe of the payments table on a DynamoDB client. */
export function createTableProbe ({ dynamodb, tableName }: { dynamodb: DynamoDBClient, tableName: string }): TableProbe {
  return {
    name: tableName,
    async ping (timeoutMs) {
      await dynamodb.send(new DescribeTableCommand({ TableName: tableName }), { abortSignal: AbortSignal.timeout(timeoutMs) })
    }
  }
}
