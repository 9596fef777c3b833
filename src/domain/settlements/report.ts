import type { Classification } from './reconcile.js'

/** A discrepancy as the report writes it: a row that is not `matched`, what the file said and what paylith has. */
export interface ReportRow {
  line: number
  classification: Classification
  reason?: string
  file: Record<string, string | number>
  paylith?: { paymentId: string, amount: number, currency: string, status: string }
}

/** The report's columns: `file` is what the file said, as JSON (its fields differ by format, and a malformed row keeps its raw ones). */
export const REPORT_COLUMNS = ['line', 'classification', 'reason', 'file', 'paylith_payment_id', 'paylith_amount', 'paylith_currency', 'paylith_status'] as const

/** The report's header line. */
export function reportHeader (): string {
  return `${REPORT_COLUMNS.join(',')}\r\n`
}

/** One discrepancy as a CSV line (RFC 4180, CRLF). */
export function reportLine (row: ReportRow): string {
  const cells = [row.line, row.classification, row.reason ?? '', JSON.stringify(row.file), row.paylith?.paymentId ?? '', row.paylith?.amount ?? '', row.paylith?.currency ?? '', row.paylith?.status ?? '']
  return `${cells.map(csvCell).join(',')}\r\n`
}

/**
 * A cell, quoted when it holds a comma, quote or line break; text a spreadsheet would run as a
 * formula (starting with =, +, -, @, a tab or a carriage return) is prefixed with `'`, since
 * the file said it and finance opens the report in a spreadsheet.
 * NOTE: https://owasp.org/www-community/attacks/CSV_Injection
 */
export function csvCell (value: string | number): string {
  if (typeof value === 'number') return String(value)
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe
}
