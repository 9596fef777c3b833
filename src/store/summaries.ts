import {
  GetItemCommand,
  TransactWriteItemsCommand,
  TransactionCanceledException,
  UpdateItemCommand,
  type DynamoDBClient
} from '@aws-sdk/client-dynamodb'
import { marshall } from '@aws-sdk/util-dynamodb'
import type { Payment } from '../domain/payment.js'
import type { PaymentStatus } from '../domain/payment-status.js'
import { writeIfCondition } from './conditional.js'
import { Keys, fromItem, toItem } from './table.js'
import { retry } from '../lib/retry.js'

/** One bucket of a customer's summary: how many payments, for how much, in a currency and status. */
export interface SummaryBucket {
  currency: string
  status: PaymentStatus
  count: number
  amount: number
}

/** A customer's payments at a glance, kept by the stream worker. */
export interface CustomerSummary {
  customerId: string
  totals: SummaryBucket[]
  lastPaymentAt: string | null
}

/** What a payment, at some version, adds to its customer's summary. */
export type Contribution = Pick<Payment, 'status' | 'amount' | 'currency' | 'version'>

/** The customer summary projection. */
export interface SummaryStore {
  /**
   * Counts a payment at this version into its customer's summary, replacing what an older
   * version counted. Redelivered and out-of-order versions change nothing, so the summary
   * is exact under at-least-once, reordered delivery. Says whether it changed anything.
   * `replaces` is the version this one follows as the stream's old image tells it (null: the
   * first version): when that is what is counted, which is the usual case, the summary moves
   * in one conditional write; otherwise (a redelivery, a gap) what is counted is read first.
   */
  apply: (payment: Payment, replaces?: Contribution | null) => Promise<boolean>
  get: (customerId: string) => Promise<CustomerSummary | undefined>
}

const MAX_ATTEMPTS = 5

/** `c#EUR#succeeded` (count) and `t#EUR#succeeded` (total): flat counters ADD can create. */
const counter = (kind: 'c' | 't', currency: string, status: string): string => `${kind}#${currency}#${status}`

/** Builds the summary store on a DynamoDB client. */
export function createSummaryStore ({ dynamodb, tableName }: { dynamodb: DynamoDBClient, tableName: string }): SummaryStore {
  const readContribution = async (payment: Payment): Promise<Contribution | undefined> => {
    const { Item } = await dynamodb.send(new GetItemCommand({ TableName: tableName, Key: marshall(Keys.summaryContribution(payment.customerId, payment.id)), ConsistentRead: true }))
    return Item === undefined ? undefined : fromItem<Contribution>(Item)
  }

  const applyOnce = async (payment: Payment): Promise<boolean> => {
    const previous = await readContribution(payment)
    if (previous !== undefined && previous.version >= payment.version) {
      // Counted before; the last-payment time may not have been (it is written after), and
      // writing it again is harmless since it only moves forward.
      await recordLastPayment(payment)
      return false
    }
    await replace(payment, previous)
    return true
  }

  /** Moves the summary from `previous` (what is counted, if anything) to `payment`, if `previous` is still what is counted. */
  const replace = async (payment: Payment, previous: Contribution | undefined): Promise<void> => {
    // Take the previous contribution out of its bucket and put the new one in, in one step.
    const deltas = new Map<string, number>()
    const add = (name: string, value: number): void => { deltas.set(name, (deltas.get(name) ?? 0) + value) }
    if (previous !== undefined) {
      add(counter('c', previous.currency, previous.status), -1)
      add(counter('t', previous.currency, previous.status), -previous.amount)
    }
    add(counter('c', payment.currency, payment.status), 1)
    add(counter('t', payment.currency, payment.status), payment.amount)
    const names = [...deltas.keys()]

    const contribution: Contribution = {
      status: payment.status,
      amount: payment.amount,
      currency: payment.currency,
      version: payment.version
    }
    await dynamodb.send(new TransactWriteItemsCommand({
      TransactItems: [
        {
          Put: {
            TableName: tableName,
            Item: toItem(Keys.summaryContribution(payment.customerId, payment.id), contribution),
            ...(previous === undefined
              ? { ConditionExpression: 'attribute_not_exists(pk)' }
              : { ConditionExpression: 'version = :seen', ExpressionAttributeValues: { ':seen': { N: String(previous.version) } } })
          }
        },
        {
          Update: {
            TableName: tableName,
            Key: marshall(Keys.customerSummary(payment.customerId)),
            UpdateExpression: `SET customerId = :customer ADD ${names.map((_, i) => `#n${i} :v${i}`).join(', ')}`,
            ExpressionAttributeNames: Object.fromEntries(names.map((name, i) => [`#n${i}`, name])),
            ExpressionAttributeValues: {
              ':customer': { S: payment.customerId },
              ...Object.fromEntries(names.map((name, i) => [`:v${i}`, { N: String(deltas.get(name)) }]))
            }
          }
        }
      ]
    }))
    // Only the first version can move it: createdAt never changes, and a redelivered first
    // version that failed after the write comes back through applyOnce's counted-before path.
    if (previous === undefined) await recordLastPayment(payment)
  }

  /** `lastPaymentAt` only ever moves forward. */
  const recordLastPayment = async (payment: Payment): Promise<void> => {
    await writeIfCondition(dynamodb, new UpdateItemCommand({
      TableName: tableName,
      Key: marshall(Keys.customerSummary(payment.customerId)),
      UpdateExpression: 'SET lastPaymentAt = :at',
      ConditionExpression: 'attribute_not_exists(lastPaymentAt) OR lastPaymentAt < :at',
      ExpressionAttributeValues: { ':at': { S: payment.createdAt } }
    }))
  }

  return {
    // Another version of this payment counted between our read and our write: look again.
    async apply (payment, replaces) {
      if (replaces !== undefined && (replaces === null || replaces.version < payment.version)) {
        try {
          await replace(payment, replaces ?? undefined)
          return true
        } catch (error) {
          // Not what is counted (a redelivery, or a version in between): read it and go on from there.
          if (!(error instanceof TransactionCanceledException)) throw error
        }
      }
      return retry(() => applyOnce(payment), { attempts: MAX_ATTEMPTS, shouldRetry: (error) => error instanceof TransactionCanceledException })
    },

    async get (customerId) {
      const { Item } = await dynamodb.send(new GetItemCommand({ TableName: tableName, Key: marshall(Keys.customerSummary(customerId)), ConsistentRead: true }))
      if (Item === undefined) return undefined
      const item = fromItem<Record<string, unknown>>(Item)
      const totals: SummaryBucket[] = []
      for (const [name, count] of Object.entries(item)) {
        const [kind, currency, status] = name.split('#')
        if (kind !== 'c' || currency === undefined || status === undefined || Number(count) === 0) continue
        totals.push({ currency, status: status as PaymentStatus, count: Number(count), amount: Number(item[counter('t', currency, status)] ?? 0) })
      }
      totals.sort((a, b) => a.currency.localeCompare(b.currency) || a.status.localeCompare(b.status))
      return { customerId, totals, lastPaymentAt: typeof item.lastPaymentAt === 'string' ? item.lastPaymentAt : null }
    }
  }
}
