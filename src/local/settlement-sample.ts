import { ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { currencyExponent } from '../domain/currencies.js'
import type { Payment } from '../domain/payment.js'
import { Classification, GENERIC_COLUMNS } from '../domain/settlements/reconcile.js'
import type { SettlementFormat } from '../settlements/read-rows.js'
import { ItemKind, fromItem } from '../store/table.js'

/** What `npm run settlement:sample` writes: how many rows, how many of them discrepancies, in which provider's format. */
export interface SampleOptions {
  rows: number
  discrepancies: number
  provider: SettlementFormat
}

/** The classifications a sample file's rows should get, as written (the worker's counts must equal them). */
export type SampleCounts = Record<Classification, number>

/** The discrepancies a sample plants, in turn. */
const PLANTED = [
  Classification.amountMismatch,
  Classification.currencyMismatch,
  Classification.duplicateRow,
  Classification.malformedRow,
  Classification.unknownPayment,
  Classification.statusMismatch
] as const

const STRIPE_HEADER = ['balance_transaction_id', 'created_utc', 'currency', 'gross', 'fee', 'net', 'reporting_category', 'payment_intent_id', 'payment_metadata[paymentId]', 'description']

/** One settled movement of a payment, as a provider would report it. */
interface Movement {
  paymentId: string
  providerRef?: string
  type: 'charge' | 'refund'
  amount: number
  currency: string
  fee: number
  settledAt: string
}

/**
 * A realistic settlement file for these payments, a line at a time (a million rows never held):
 * a charge for every succeeded or refunded payment and a refund for every refunded one, with a
 * fee of 2.9 % + 30; K discrepancies planted evenly (another amount or currency, the row before
 * again, an unreadable amount, a payment paylith does not know, a settled charge for a payment
 * not settled); and, past the payments there are, charges for payments paylith does not know
 * (counted as `unknown_payment`). `counts` is filled as the lines go: what the reconciliation
 * must find.
 */
export function * sampleLines (payments: readonly Payment[], options: SampleOptions, counts: SampleCounts): Generator<string> {
  const settled = payments.filter((payment) => payment.status === 'succeeded' || payment.status === 'refunded')
  const unsettled = payments.filter((payment) => payment.status !== 'succeeded' && payment.status !== 'refunded')
  const movements = settled.flatMap((payment): Movement[] => {
    const charge = movementOf(payment, 'charge')
    return payment.status === 'refunded' ? [charge, movementOf(payment, 'refund')] : [charge]
  })
  const format = options.provider === 'stripe' ? stripeLine : genericLine
  const every = options.discrepancies > 0 ? Math.max(1, Math.floor(options.rows / options.discrepancies)) : Infinity
  let planted = 0
  let next = 0
  let previous: string | undefined
  yield `${(options.provider === 'stripe' ? STRIPE_HEADER : GENERIC_COLUMNS).join(',')}\n`
  for (let index = 0; index < options.rows; index++) {
    const plant = planted < options.discrepancies && index % every === every - 1
    if (plant) {
      const kind = PLANTED[planted % PLANTED.length] ?? Classification.unknownPayment
      planted++
      const line = plantedLine(kind, { settled, unsettled, previous, index, format })
      counts[line.classification]++
      yield line.text
      continue
    }
    const movement = movements[next]
    if (movement !== undefined) {
      next++
      counts.matched++
      previous = format(movement, index)
    } else {
      counts.unknown_payment++
      previous = format(unknownCharge(index), index)
    }
    yield previous
  }
}

function plantedLine (kind: Classification, { settled, unsettled, previous, index, format }: { settled: Payment[], unsettled: Payment[], previous: string | undefined, index: number, format: (movement: Movement, index: number) => string }): { classification: Classification, text: string } {
  const payment = settled[index % Math.max(1, settled.length)]
  if (kind === Classification.duplicateRow && previous !== undefined) return { classification: kind, text: previous }
  if (kind === Classification.malformedRow) return { classification: kind, text: format({ ...unknownCharge(index), amount: Number.NaN }, index) }
  // A time of its own, so two planted rows on one payment are never the same row (a duplicate).
  const settledAt = new Date(Date.UTC(2026, 0, 1) + index * 1000).toISOString()
  if (kind === Classification.amountMismatch && payment !== undefined) return { classification: kind, text: format({ ...movementOf(payment, 'charge'), amount: payment.amount + 1, settledAt }, index) }
  if (kind === Classification.currencyMismatch && payment !== undefined) return { classification: kind, text: format({ ...movementOf(payment, 'charge'), currency: payment.currency === 'EUR' ? 'USD' : 'EUR', settledAt }, index) }
  const pending = unsettled[index % Math.max(1, unsettled.length)]
  if (kind === Classification.statusMismatch && pending !== undefined) return { classification: kind, text: format({ ...movementOf(pending, 'charge'), settledAt }, index) }
  return { classification: Classification.unknownPayment, text: format(unknownCharge(index), index) }
}

function movementOf (payment: Payment, type: Movement['type']): Movement {
  return {
    paymentId: payment.id,
    ...(payment.providerRef !== undefined && { providerRef: payment.providerRef }),
    type,
    amount: payment.amount,
    currency: payment.currency,
    fee: type === 'charge' ? Math.round(payment.amount * 0.029) + 30 : 0,
    settledAt: payment.updatedAt
  }
}

/** A charge for a payment paylith never made: a well-formed id no one has. */
function unknownCharge (index: number): Movement {
  return { paymentId: `pay_01SAMPLE${String(index).padStart(18, '0')}`, type: 'charge', amount: 1000 + (index % 9000), currency: 'EUR', fee: 59, settledAt: '2026-11-27T10:00:00.000Z' }
}

function genericLine (movement: Movement): string {
  const amount = Number.isNaN(movement.amount) ? 'n/a' : String(movement.amount)
  return `${movement.paymentId},${movement.providerRef ?? ''},${movement.type},${amount},${movement.currency},${movement.settledAt},${movement.fee}\n`
}

function stripeLine (movement: Movement, index: number): string {
  const exponent = currencyExponent(movement.currency)
  const gross = movement.type === 'refund' ? -movement.amount : movement.amount
  const major = (minor: number): string => Number.isNaN(minor) ? 'n/a' : decimal(minor, exponent)
  return [
    `txn_${String(index).padStart(24, '0')}`,
    movement.settledAt.slice(0, 19).replace('T', ' '),
    movement.currency.toLowerCase(),
    major(gross),
    major(movement.fee),
    major(gross - movement.fee),
    movement.type,
    movement.providerRef ?? '',
    movement.paymentId,
    'sample'
  ].join(',') + '\n'
}

/** Minor units as a decimal of `exponent` places, exactly (no floating point). */
function decimal (minor: number, exponent: number): string {
  const digits = String(Math.abs(minor)).padStart(exponent + 1, '0')
  const whole = exponent === 0 ? digits : `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`
  return minor < 0 ? `-${whole}` : whole
}

/** The settled and unsettled payments of a table, up to `limit` (a Scan, paged: local tooling, never the service's path). */
export async function paymentsInTable (dynamodb: DynamoDBClient, tableName: string, limit: number): Promise<Payment[]> {
  const payments: Payment[] = []
  let start: Record<string, AttributeValue> | undefined
  do {
    const page = await dynamodb.send(new ScanCommand({
      TableName: tableName,
      FilterExpression: 'sk = :payment',
      ExpressionAttributeValues: { ':payment': { S: ItemKind.payment } },
      ...(start !== undefined && { ExclusiveStartKey: start })
    }))
    payments.push(...(page.Items ?? []).map((item) => fromItem<Payment>(item)))
    start = page.LastEvaluatedKey
  } while (start !== undefined && payments.length < limit)
  return payments.slice(0, limit)
}
