/** Whole Unix seconds of a time, as DynamoDB TTL attributes and webhook timestamps count them. */
export function unixSeconds (date: Date): number {
  return Math.floor(date.getTime() / 1000)
}
