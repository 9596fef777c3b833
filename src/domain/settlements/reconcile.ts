import { currencyExponent, isCurrencyCode } from '../currencies.js'
import type { Payment } from '../payment.js'
import type { PaymentStatus } from '../payment-status.js'
import { toMinorUnits } from './minor-units.js'

/** How one settlement row compares with paylith's records. */
export const Classification = {
  matched: 'matched',
  amountMismatch: 'amount_mismatch',
  currencyMismatch: 'currency_mismatch',
  statusMismatch: 'status_mismatch',
  unknownPayment: 'unknown_payment',
  duplicateRow: 'duplicate_row',
  malformedRow: 'malformed_row',
  /** A balance transaction of a kind paylith keeps no record of (a dispute, a Stripe fee, …): in the totals, listed for a person, no discrepancy. */
  notReconciled: 'not_reconciled'
} as const

/** One classification. */
export type Classification = (typeof Classification)[keyof typeof Classification]

/** Every classification, in the order the counts list them. */
export const CLASSIFICATIONS: readonly Classification[] = Object.values(Classification)

/** The classifications that say paylith and the provider disagree: every one but `matched` and `not_reconciled` (what `SettlementDiscrepancies` counts and alarms on). */
export const DISCREPANCIES: readonly Classification[] = CLASSIFICATIONS.filter((classification) => classification !== Classification.matched && classification !== Classification.notReconciled)

/** Counts of a settlement that has read nothing yet: every classification at 0. */
export function emptyCounts (): Record<Classification, number> {
  return Object.fromEntries(CLASSIFICATIONS.map((classification) => [classification, 0])) as Record<Classification, number>
}

/**
 * What a row settles: a charge or a refund of a payment, or `other`, a balance transaction
 * paylith keeps no record of (its `category` says which).
 */
export type SettlementRowType = 'charge' | 'refund' | 'other'

/** One settled row of a provider's file, amounts in integer minor units. */
export interface SettlementRow {
  /** The file's line number (the header is line 1). */
  line: number
  /** What makes a row the same row twice (its balance transaction, or all its fields). */
  rowKey: string
  paymentId?: string
  providerRef?: string
  type: SettlementRowType
  /** The provider's category of an `other` row (`dispute`, `fee`, …). */
  category?: string
  /** A charge's or refund's size; an `other` row's signed gross (a dispute takes money: negative). */
  amount: number
  fee: number
  /** Upper-case ISO 4217 code. */
  currency: string
  settledAt?: string
}

/** A row that could not be read, with why. */
export interface MalformedRow {
  line: number
  error: string
  /** The raw fields, as the file had them. */
  fields: Record<string, string>
}

/** The columns of the `generic` format. */
export const GENERIC_COLUMNS = ['paymentId', 'providerRef', 'type', 'amount', 'currency', 'settledAt', 'fee'] as const

const INTEGER = /^-?\d{1,15}$/

/** Reads one `generic` row (integer minor units), or says why it is malformed. */
export function readGenericRow (fields: Record<string, string>, line: number): SettlementRow | MalformedRow {
  const problems: string[] = []
  const paymentId = fields.paymentId?.trim() ?? ''
  const providerRef = fields.providerRef?.trim() ?? ''
  const type = fields.type?.trim() ?? ''
  const amount = fields.amount?.trim() ?? ''
  const fee = fields.fee?.trim() === '' || fields.fee === undefined ? '0' : fields.fee.trim()
  const currency = fields.currency?.trim().toUpperCase() ?? ''
  if (paymentId === '' && providerRef === '') problems.push('paymentId or providerRef is required')
  if (type !== 'charge' && type !== 'refund') problems.push(`type must be charge or refund, found ${JSON.stringify(type)}`)
  if (!INTEGER.test(amount)) problems.push(`amount must be an integer in minor units, found ${JSON.stringify(amount)}`)
  if (!INTEGER.test(fee)) problems.push(`fee must be an integer in minor units, found ${JSON.stringify(fee)}`)
  if (!isCurrencyCode(currency)) problems.push(`currency must be an ISO 4217 code, found ${JSON.stringify(fields.currency ?? '')}`)
  if (problems.length > 0) return { line, error: problems.join('; '), fields }
  const settledAt = fields.settledAt?.trim()
  return {
    line,
    rowKey: [paymentId, providerRef, type, amount, currency, settledAt ?? ''].join('|'),
    ...(paymentId !== '' && { paymentId }),
    ...(providerRef !== '' && { providerRef }),
    type: type as SettlementRowType,
    amount: Number(amount),
    fee: Number(fee),
    currency,
    ...(settledAt !== undefined && settledAt !== '' && { settledAt })
  }
}

/** Whether a value read from a row is malformed. */
export function isMalformed (row: SettlementRow | MalformedRow): row is MalformedRow {
  return 'error' in row
}

const SETTLED_CHARGE_STATUSES: ReadonlySet<PaymentStatus> = new Set<PaymentStatus>(['succeeded', 'partially_refunded', 'refunded'])
const REFUNDED_STATUSES: ReadonlySet<PaymentStatus> = new Set<PaymentStatus>(['partially_refunded', 'refunded'])

/**
 * Classifies a readable, first-seen row against the payment it names (undefined: none found).
 * A charge must settle the payment's amount and find it succeeded (or refunded since, in part
 * or in full); a refund must find the payment refunded (in part or in full) and not exceed its amount.
 */
export function classify (row: SettlementRow, payment: Pick<Payment, 'amount' | 'currency' | 'status'> | undefined): { classification: Classification, reason?: string } {
  if (row.type === 'other') return { classification: Classification.notReconciled, reason: `reporting_category ${row.category ?? ''}: paylith keeps no record of these; counted in the totals` }
  if (payment === undefined) return { classification: Classification.unknownPayment, reason: 'no payment with this id or provider reference' }
  if (row.currency !== payment.currency) return { classification: Classification.currencyMismatch, reason: `file says ${row.currency}, paylith has ${payment.currency}` }
  if (row.type === 'charge') {
    if (row.amount !== payment.amount) return { classification: Classification.amountMismatch, reason: `file says ${row.amount}, paylith has ${payment.amount}` }
    if (!SETTLED_CHARGE_STATUSES.has(payment.status)) return { classification: Classification.statusMismatch, reason: `a settled charge for a payment paylith shows ${payment.status}` }
    return { classification: Classification.matched }
  }
  if (Math.abs(row.amount) > payment.amount) return { classification: Classification.amountMismatch, reason: `refund of ${Math.abs(row.amount)} exceeds the payment's ${payment.amount}` }
  if (!REFUNDED_STATUSES.has(payment.status)) return { classification: Classification.statusMismatch, reason: `a settled refund for a payment paylith shows ${payment.status}` }
  return { classification: Classification.matched }
}

/** Per-currency sums of a file's readable rows, in minor units: refunds count negative. */
export interface CurrencyTotals {
  currency: string
  gross: number
  fee: number
  net: number
}

/** Adds a row to the running totals (keyed by currency). */
export function addToTotals (totals: Map<string, CurrencyTotals>, row: SettlementRow): void {
  const current = totals.get(row.currency) ?? { currency: row.currency, gross: 0, fee: 0, net: 0 }
  const gross = row.type === 'refund' ? -Math.abs(row.amount) : row.amount
  // An `other` row's amount is already signed (a dispute or a fee takes money, a reversal gives it back).
  current.gross += gross
  current.fee += row.fee
  current.net += gross - row.fee
  totals.set(row.currency, current)
}

/** Stripe's reporting categories paylith reconciles against its payments; the others are read as `other` rows. */
const STRIPE_RECONCILED_CATEGORIES: ReadonlySet<string> = new Set(['charge', 'refund'])

/** The columns of Stripe's itemized payout reconciliation report that paylith reads (`payment_metadata[paymentId]` too, when the report has it). */
export const STRIPE_COLUMNS = ['balance_transaction_id', 'currency', 'gross', 'fee', 'reporting_category', 'payment_intent_id'] as const

/** The metadata column that carries paylith's payment id, when the report was asked for it. */
export const STRIPE_PAYMENT_ID_COLUMN = 'payment_metadata[paymentId]'

/**
 * Reads one row of Stripe's itemized payout reconciliation report: decimal major units in a
 * lower-case currency, to minor units by the currency's exponent. The balance transaction
 * makes a row the same row twice. Reporting categories other than `charge` and `refund`
 * (`dispute`, `dispute_reversal`, `fee`, `refund_failure`, `other_adjustment`, …) are rows
 * paylith keeps no record of: read as `other`, with their signed gross, for the totals and a
 * person; they need no payment.
 * NOTE: https://docs.stripe.com/reports/payout-reconciliation
 * NOTE: https://docs.stripe.com/reports/reporting-categories
 */
export function readStripeRow (fields: Record<string, string>, line: number): SettlementRow | MalformedRow {
  const problems: string[] = []
  const balanceTransaction = fields.balance_transaction_id?.trim() ?? ''
  const currency = fields.currency?.trim().toUpperCase() ?? ''
  const category = fields.reporting_category?.trim() ?? ''
  const paymentId = fields[STRIPE_PAYMENT_ID_COLUMN]?.trim() ?? ''
  const providerRef = fields.payment_intent_id?.trim() ?? ''
  if (balanceTransaction === '') problems.push('balance_transaction_id is required')
  const reconciled = STRIPE_RECONCILED_CATEGORIES.has(category)
  if (category === '') problems.push('reporting_category is required')
  if (reconciled && paymentId === '' && providerRef === '') problems.push(`payment_intent_id or payment_metadata[paymentId] is required for a ${category}`)
  const currencyKnown = isCurrencyCode(currency)
  if (!currencyKnown) problems.push(`currency must be an ISO 4217 code, found ${JSON.stringify(fields.currency ?? '')}`)
  const gross = currencyKnown ? toMinorUnits(fields.gross ?? '', currency) : undefined
  const fee = currencyKnown ? toMinorUnits(fields.fee === undefined || fields.fee.trim() === '' ? '0' : fields.fee, currency) : undefined
  if (currencyKnown && gross === undefined) problems.push(`gross must be a decimal amount with at most ${currencyExponent(currency)} decimals in ${currency}, found ${JSON.stringify(fields.gross ?? '')}`)
  if (currencyKnown && fee === undefined) problems.push(`fee must be a decimal amount with at most ${currencyExponent(currency)} decimals in ${currency}, found ${JSON.stringify(fields.fee ?? '')}`)
  if (problems.length > 0 || gross === undefined || fee === undefined) return { line, error: problems.join('; '), fields }
  const settledAt = fields.created_utc?.trim()
  return {
    line,
    rowKey: balanceTransaction,
    ...(paymentId !== '' && { paymentId }),
    ...(providerRef !== '' && { providerRef }),
    ...(reconciled
      // A refund's gross is negative in the report; paylith compares its size.
      ? { type: category as SettlementRowType, amount: Math.abs(gross) }
      : { type: 'other' as const, category, amount: gross }),
    fee,
    currency,
    ...(settledAt !== undefined && settledAt !== '' && { settledAt })
  }
}
