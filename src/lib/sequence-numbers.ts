/**
 * The lowest of some sequence numbers, as given. They are decimal strings longer than a double
 * holds, of varying length and sometimes zero-padded, so they are compared as integers, never
 * as strings; the string itself is returned, since that is what identifies the record.
 */
export function lowestSequenceNumber (sequenceNumbers: string[]): string | undefined {
  let lowest: { value: bigint, text: string } | undefined
  for (const text of sequenceNumbers) {
    const value = BigInt(text)
    if (lowest === undefined || value < lowest.value) lowest = { value, text }
  }
  return lowest?.text
}
