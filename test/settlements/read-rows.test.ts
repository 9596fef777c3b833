import { Readable } from 'node:stream'
import { gzipSync } from 'node:zlib'
import t from 'tap'
import { readSettlementRows, type ReadRow } from '../../src/settlements/read-rows.js'

const HEADER = 'paymentId,providerRef,type,amount,currency,settledAt,fee'

/** A file with a BOM, CRLF line ends, an empty line and a quoted field across two lines. */
const FILE = Buffer.from([
  `\ufeff${HEADER}`,
  'pay_1,,charge,100,EUR,,1',
  'pay_2,"ch_a',
  'b",charge,200,EUR,,2',
  '',
  'pay_3,,refund,300,EUR,,3',
  'pay_4,,charge,four,EUR,,4',
  'pay_5,,charge,500,EUR,,5'
].join('\r\n'))

/** A file's bytes as a stream in small chunks, so records straddle chunk boundaries. */
function chunked (bytes: Buffer, size = 7): Readable {
  return Readable.from(Array.from({ length: Math.ceil(bytes.length / size) }, (_, index) => bytes.subarray(index * size, (index + 1) * size)))
}

async function readAll (rows: AsyncIterable<ReadRow>): Promise<ReadRow[]> {
  const read: ReadRow[] = []
  for await (const row of rows) read.push(row)
  return read
}

t.test('each row says the byte just past its record, where the next line starts', async (t) => {
  const rows = await readAll(readSettlementRows(chunked(FILE), { key: 'settlements/generic/a.csv', format: 'generic' }))
  t.equal(rows[0]?.row.line, 2, 'the header is line 1')
  t.same(rows.map(({ row }) => 'error' in row), [false, false, false, true, false])
  const rest = rows.map(({ end }) => FILE.subarray(end).toString().split('\r\n')[0])
  t.same(rest, ['pay_2,"ch_a', '', 'pay_4,,charge,four,EUR,,4', 'pay_5,,charge,500,EUR,,5', ''])
  t.same(rows[0]?.columns, HEADER.split(','))
})

t.test('a read resumed at a row\'s offset (a ranged GET) gives the same rows, lines and offsets as the whole read', async (t) => {
  const whole = await readAll(readSettlementRows(chunked(FILE), { key: 'settlements/generic/a.csv', format: 'generic' }))
  for (const [index, { row, end, columns }] of whole.entries()) {
    if (end === undefined) throw new Error('a plain file has offsets')
    const resumed = await readAll(readSettlementRows(chunked(FILE.subarray(end), 5), { key: 'settlements/generic/a.csv', format: 'generic', after: { line: row.line, columns, offset: end } }))
    t.same(resumed, whole.slice(index + 1), `resumed after line ${row.line}`)
  }
})

t.test('a gzipped file has no offsets and is resumed by reading it again and skipping to the line', async (t) => {
  const gzipped = gzipSync(FILE)
  const whole = await readAll(readSettlementRows(chunked(gzipped), { key: 'settlements/generic/a.csv.gz', format: 'generic' }))
  t.same(whole.map(({ end }) => end), [undefined, undefined, undefined, undefined, undefined])
  const after = whole[1]?.row.line ?? 0
  const resumed = await readAll(readSettlementRows(chunked(gzipped), { key: 'settlements/generic/a.csv.gz', format: 'generic', after: { line: after, columns: HEADER.split(',') } }))
  t.same(resumed, whole.slice(2), `the rows after line ${after}`)
})
