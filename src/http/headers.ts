import type { IncomingMessage } from 'node:http'

/**
 * Every value a request carries for a header, one per occurrence as received. Node's
 * `request.headers` joins the repeats of most headers with `, `, which hides them.
 */
export function headerValues (raw: Pick<IncomingMessage, 'rawHeaders'>, name: string): string[] {
  const wanted = name.toLowerCase()
  const values: string[] = []
  for (let index = 0; index + 1 < raw.rawHeaders.length; index += 2) {
    if (raw.rawHeaders[index]?.toLowerCase() === wanted) values.push(raw.rawHeaders[index + 1] ?? '')
  }
  return values
}
