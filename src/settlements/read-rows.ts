import type { Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { SettlementFileError } from '../domain/errors.js'
import { GENERIC_COLUMNS, STRIPE_COLUMNS, readGenericRow, readStripeRow, type MalformedRow, type SettlementRow } from '../domain/settlements/reconcile.js'

/** The formats paylith reads, by the provider named in the file's key. */
export const SettlementFormat = {
  generic: 'generic',
  stripe: 'stripe'
} as const

/** One format. */
export type SettlementFormat = (typeof SettlementFormat)[keyof typeof SettlementFormat]

/** The longest line a file may have; a longer one fails the file rather than growing memory. */
export const MAX_LINE_BYTES = 65_536

const FORMATS: Record<SettlementFormat, { columns: readonly string[], read: (fields: Record<string, string>, line: number) => SettlementRow | MalformedRow }> = {
  generic: { columns: GENERIC_COLUMNS, read: readGenericRow },
  stripe: { columns: STRIPE_COLUMNS, read: readStripeRow }
}

/** Whether a provider name (the key's second segment) is a format paylith reads. */
export function isSettlementFormat (name: string): name is SettlementFormat {
  return Object.hasOwn(FORMATS, name)
}

/** Where a continuation picks a file up: after the record ending on `line`, with the header's columns as first read. */
export interface ReadAfter {
  line: number
  columns: string[]
  /**
   * The byte just past that record in the object, when the body given starts there (a ranged
   * GET of a plain file); absent for a gzipped file, whose body is read again from its start and
   * its records up to `line` skipped (a compressed stream cannot be entered in the middle).
   */
  offset?: number
}

/** One row as read, with where it ends and the header it was read with. */
export interface ReadRow {
  row: SettlementRow | MalformedRow
  /** The byte just past the row's record in the object (a plain file), where a ranged GET would resume; undefined in a gzipped file. */
  end: number | undefined
  columns: string[]
}

/**
 * The rows of a settlement file, one at a time, as the stream delivers them: the file is never
 * held, and a slow consumer slows the read (async iteration pulls). `.gz` keys are gunzipped on
 * the way. The parser is csv-parse (RFC 4180 quoting, BOM, a bounded record size, line
 * numbers), well kept and streaming, rather than a hand-written split. Columns may come in any order and unknown ones are ignored; a missing one fails the
 * file with a SettlementFileError naming them all. An empty file has no rows. With `after`, the
 * read continues a checkpointed one: line numbers and byte offsets count from the object's start.
 */
export async function * readSettlementRows (body: Readable, { key, format, after }: { key: string, format: SettlementFormat, after?: ReadAfter }): AsyncGenerator<ReadRow> {
  const { columns, read } = FORMATS[format]
  const gzipped = key.endsWith('.gz')
  // A ranged body starts mid-file: no header, lines and bytes counted from the checkpoint.
  const ranged = after !== undefined && after.offset !== undefined && !gzipped
  const lineBase = ranged ? after.line : 0
  const byteBase = ranged ? (after.offset ?? 0) : 0
  let names: string[] = ranged ? after.columns : []
  // Loaded on the first file: the HTTP cold start never pays for the parser.
  const { parse } = await import('csv-parse')
  const parser = parse({
    bom: true,
    columns: ranged
      ? after.columns
      : (header: string[]) => {
          names = header.map((name) => name.trim())
          const missing = columns.filter((column) => !names.includes(column))
          if (missing.length > 0) throw new SettlementFileError(`the ${format} file lacks the column${missing.length === 1 ? '' : 's'} ${missing.join(', ')}`, { missingColumns: missing })
          return names
        },
    skip_empty_lines: true,
    relax_column_count: true,
    max_record_size: MAX_LINE_BYTES,
    info: true
  })
  const source = gzipped ? body.pipe(createGunzip()) : body
  source.on('error', (error) => parser.destroy(error))
  source.pipe(parser)
  for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>, info: { lines: number, bytes: number } }>) {
    const line = lineBase + info.lines
    if (!ranged && after !== undefined && line <= after.line) continue
    yield { row: read(record, line), end: gzipped ? undefined : byteBase + info.bytes, columns: names }
  }
}
