import { QueryCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { decodePageCursor, encodePageCursor } from './cursor.js'
import type { Listing } from './table.js'

/** One page of a listing's items, newest first, and the cursor of the next page (null at the end). */
export interface ListingPage {
  items: Array<Record<string, AttributeValue>>
  nextCursor: string | null
}

/**
 * Reads one page of a listing, newest first, from where `cursor` (made by an earlier page of
 * the same listing) left off.
 * @throws InvalidCursorError for a cursor of another listing, or one that was altered
 */
export async function queryListing (dynamodb: DynamoDBClient, tableName: string, listing: Listing, { limit, cursor }: { limit: number, cursor?: string }): Promise<ListingPage> {
  const { Items = [], LastEvaluatedKey } = await dynamodb.send(new QueryCommand({
    TableName: tableName,
    IndexName: listing.index.name,
    KeyConditionExpression: '#listing = :listing',
    ExpressionAttributeNames: { '#listing': listing.index.partitionKey },
    ExpressionAttributeValues: { ':listing': { S: listing.partition } },
    ScanIndexForward: false,
    Limit: limit,
    ...(cursor !== undefined && { ExclusiveStartKey: decodePageCursor(cursor, listing) })
  }))
  return { items: Items, nextCursor: LastEvaluatedKey === undefined ? null : encodePageCursor(LastEvaluatedKey, listing.name) }
}
