import { Writable } from 'node:stream'

/** A sink that parses every JSON line written to it (log lines, metric documents), for assertions. */
export function jsonLines (): { lines: Array<Record<string, unknown>>, sink: Writable } {
  const lines: Array<Record<string, unknown>> = []
  const sink = new Writable({
    write (chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line !== '') lines.push(JSON.parse(line))
      done()
    }
  })
  return { lines, sink }
}
