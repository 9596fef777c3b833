/** Longest Idempotency-Key accepted, in characters. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255

/**
 * Reads an `Idempotency-Key` header: the structured-field string form (`"abc"`) or the bare
 * form (`abc`). Returns the key, or why it is not acceptable.
 * NOTE: https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/
 */
export function parseIdempotencyKey (header: string): { key: string } | { problem: string } {
  let key = header.trim()
  if (key.length >= 2 && key.startsWith('"') && key.endsWith('"')) {
    key = key.slice(1, -1)
    if (/(?<!\\)"/.test(key)) return { problem: 'a quoted key must not contain an unescaped quote' }
    key = key.replace(/\\(["\\])/g, '$1')
  }
  if (key.length === 0) return { problem: 'the key is empty' }
  if (key.length > MAX_IDEMPOTENCY_KEY_LENGTH) return { problem: `the key is longer than ${MAX_IDEMPOTENCY_KEY_LENGTH} characters` }
  if (!/^[\x20-\x7E]+$/.test(key)) return { problem: 'the key must be printable ASCII' }
  return { key }
}
