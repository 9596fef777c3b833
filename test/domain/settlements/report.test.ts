import t from 'tap'
import { parse } from 'csv-parse/sync'
import { csvCell, reportHeader, reportLine } from '../../../src/domain/settlements/report.js'

t.test('a discrepancy is one CSV line a CSV parser reads back exactly', async (t) => {
  const text = reportHeader() + reportLine({
    line: 7,
    classification: 'amount_mismatch',
    reason: 'file says 301, paylith has 300',
    file: { paymentId: 'pay_1', amount: 301, note: 'a "quoted", multi\nline value' },
    paylith: { paymentId: 'pay_1', amount: 300, currency: 'EUR', status: 'succeeded' }
  }) + reportLine({ line: 9, classification: 'malformed_row', reason: 'amount must be an integer', file: { amount: 'ten' } })
  const rows = parse(text, { columns: true }) as Array<Record<string, string>>
  t.same(rows[0], {
    line: '7',
    classification: 'amount_mismatch',
    reason: 'file says 301, paylith has 300',
    file: JSON.stringify({ paymentId: 'pay_1', amount: 301, note: 'a "quoted", multi\nline value' }),
    paylith_payment_id: 'pay_1',
    paylith_amount: '300',
    paylith_currency: 'EUR',
    paylith_status: 'succeeded'
  })
  t.match(rows[1], { line: '9', classification: 'malformed_row', paylith_payment_id: '' })
})

t.test('text a spreadsheet would run as a formula is defused; numbers are left alone', async (t) => {
  t.equal(csvCell('=HYPERLINK("http://x")'), '"\'=HYPERLINK(""http://x"")"')
  t.equal(csvCell('@SUM(A1)'), "'@SUM(A1)")
  t.equal(csvCell(-5), '-5')
  t.equal(csvCell('plain'), 'plain')
})
