import { setTimeout as sleep } from 'node:timers/promises'
import {
  GetItemCommand,
  UpdateItemCommand,
  type DynamoDBClient
} from '@aws-sdk/client-dynamodb'
import { marshall } from '@aws-sdk/util-dynamodb'
import type { Payment } from '../domain/payment.js'
import type { PaymentStatus } from '../domain/payment-status.js'
import { writeIfCondition } from './conditional.js'
import { Keys, fromItem, toItem } from './table.js'
import { throwIfThrottled, writeTransaction, type CancelledTransaction } from './transaction.js'
import { DEFAULT_TRANSIENT_RETRY, type TransientRetry } from './transient.js'
import { fullJitter } from '../lib/retry.js'

/** One bucket of a customer's summary: how many payments, for how much, in a currency and status. */
export interface SummaryBucket {
  currency: string
  status: PaymentStatus
  count: number
  amount: number
}

/** What a customer was given back in one currency: the sum of the refunds of its payments, in minor units. */
export interface RefundedTotal {
  currency: string
  amount: number
}

/** A customer's payments at a glance, kept by the stream worker. */
export interface CustomerSummary {
  customerId: string
  totals: SummaryBucket[]
  /** Refunded amounts per currency (partial refunds included), of currencies with any. */
  refunded: RefundedTotal[]
  lastPaymentAt: string | null
}

/** What a payment, at some version, adds to its customer's summary. */
export type Contribution = Pick<Payment, 'status' | 'amount' | 'currency' | 'version' | 'amountRefunded'>

/** The customer summary projection. */
export interface SummaryStore {
  /**
   * Counts a payment at this version into its customer's summary, replacing what an older
   * version counted. Redelivered and out-of-order versions change nothing, so the summary
   * is exact under at-least-once, reordered delivery. Says whether it changed anything.
   * `replaces` is the version this one follows as the stream's old image tells it (null: the
   * first version): when that is what is counted, which is the usual case, the summary moves
   * in one conditional write; otherwise (a redelivery, a gap) what is counted is read first.
   * Another version counted between the read and the write (a version race) is read again, a
   * few times, with backoff; a write DynamoDB throttles (or that meets another transaction) is
   * tried again with backoff, within a small time budget.
   * @throws DependencyThrottledError when DynamoDB kept refusing the write (nothing written; the stream delivers it again)
   */
  apply: (payment: Payment, replaces?: Contribution | null) => Promise<boolean>
  get: (customerId: string) => Promise<CustomerSummary | undefined>
}

/** Reads and writes in all when other versions of the payment keep being counted between the two. */
const MAX_RACES = 5

const OPERATION = 'summaries.apply'

/** `c#EUR#succeeded` (count) and `t#EUR#succeeded` (total): flat counters ADD can create. */
const counter = (kind: 'c' | 't', currency: string, status: string): string => `${kind}#${currency}#${status}`

/** `r#EUR`: the refunded total of a currency. */
const refundedCounter = (currency: string): string => `r#${currency}`

/** Builds the summary store on a DynamoDB client; `transient` says how writes DynamoDB refuses for now are tried again. */
export function createSummaryStore ({ dynamodb, tableName, transient = DEFAULT_TRANSIENT_RETRY }: { dynamodb: DynamoDBClient, tableName: string, transient?: TransientRetry }): SummaryStore {
  const raceDelayMs = fullJitter(transient.baseMs, transient.capMs, transient.random)

  const readContribution = async (payment: Payment): Promise<Contribution | undefined> => {
    const { Item } = await dynamodb.send(new GetItemCommand({ TableName: tableName, Key: marshall(Keys.summaryContribution(payment.customerId, payment.id)), ConsistentRead: true }))
    return Item === undefined ? undefined : fromItem<Contribution>(Item)
  }

  /** Counts the payment from what is counted now: whether it changed anything, or the cancellation of a write that lost a version race. */
  const applyOnce = async (payment: Payment): Promise<boolean | CancelledTransaction<string>> => {
    const previous = await readContribution(payment)
    if (previous !== undefined && previous.version >= payment.version) {
      // Counted before; the last-payment time may not have been (it is written after), and
      // writing it again is harmless since it only moves forward.
      await recordLastPayment(payment)
      return false
    }
    return await replace(payment, previous) ?? true
  }

  /**
   * Moves the summary from `previous` (what is counted, if anything) to `payment`, if `previous`
   * is still what is counted: undefined when it did, the cancellation when it was not (a race).
   */
  const replace = async (payment: Payment, previous: Contribution | undefined): Promise<CancelledTransaction<string> | undefined> => {
    // Take the previous contribution out of its bucket and put the new one in, in one step.
    const deltas = new Map<string, number>()
    const add = (name: string, value: number): void => { deltas.set(name, (deltas.get(name) ?? 0) + value) }
    if (previous !== undefined) {
      add(counter('c', previous.currency, previous.status), -1)
      add(counter('t', previous.currency, previous.status), -previous.amount)
    }
    add(counter('c', payment.currency, payment.status), 1)
    add(counter('t', payment.currency, payment.status), payment.amount)
    // What was refunded since the counted version (a contribution of before refunds counted none).
    const refunded = (payment.amountRefunded ?? 0) - (previous?.amountRefunded ?? 0)
    if (refunded !== 0) add(refundedCounter(payment.currency), refunded)
    const names = [...deltas.keys()]

    const contribution: Contribution = {
      status: payment.status,
      amount: payment.amount,
      currency: payment.currency,
      version: payment.version,
      ...(payment.amountRefunded !== undefined && { amountRefunded: payment.amountRefunded })
    }
    // The contribution's condition keeps a second try from counting twice.
    const cancelled = await writeTransaction(dynamodb, {
      contribution: {
        Put: {
          TableName: tableName,
          Item: toItem(Keys.summaryContribution(payment.customerId, payment.id), contribution),
          ...(previous === undefined
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : { ConditionExpression: 'version = :seen', ExpressionAttributeValues: { ':seen': { N: String(previous.version) } } })
        }
      },
      summary: {
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
    }, { operation: OPERATION, policy: transient })
    if (cancelled !== undefined) {
      if (cancelled.reasons.contribution?.Code === 'ConditionalCheckFailed') return cancelled
      throwIfThrottled(cancelled, `the summary of ${payment.customerId} for ${payment.id} v${payment.version}`)
      throw cancelled.error
    }
    // Only the first version can move it: createdAt never changes, and a redelivered first
    // version that failed after the write comes back through applyOnce's counted-before path.
    if (previous === undefined) await recordLastPayment(payment)
    return undefined
  }

  /** `lastPaymentAt` only ever moves forward. */
  const recordLastPayment = async (payment: Payment): Promise<void> => {
    await writeIfCondition(dynamodb, new UpdateItemCommand({
      TableName: tableName,
      Key: marshall(Keys.customerSummary(payment.customerId)),
      UpdateExpression: 'SET lastPaymentAt = :at',
      ConditionExpression: 'attribute_not_exists(lastPaymentAt) OR lastPaymentAt < :at',
      ExpressionAttributeValues: { ':at': { S: payment.createdAt } }
    // It updates the summary item transactions write too: meeting one is not an answer.
    }), { operation: OPERATION, policy: transient })
  }

  return {
    async apply (payment, replaces) {
      if (replaces !== undefined && (replaces === null || replaces.version < payment.version)) {
        // Not what is counted (a redelivery, or a version in between): read it and go on from there.
        if (await replace(payment, replaces ?? undefined) === undefined) return true
      }
      // Another version of this payment counted between our read and our write: look again, after a moment.
      for (let race = 1; ; race++) {
        const outcome = await applyOnce(payment)
        if (typeof outcome === 'boolean') return outcome
        if (race >= MAX_RACES) throw outcome.error
        await sleep(raceDelayMs(race))
      }
    },

    async get (customerId) {
      const { Item } = await dynamodb.send(new GetItemCommand({ TableName: tableName, Key: marshall(Keys.customerSummary(customerId)), ConsistentRead: true }))
      if (Item === undefined) return undefined
      const item = fromItem<Record<string, unknown>>(Item)
      const totals: SummaryBucket[] = []
      const refunded: RefundedTotal[] = []
      for (const [name, count] of Object.entries(item)) {
        const [kind, currency, status] = name.split('#')
        if (kind === 'r' && currency !== undefined && Number(count) !== 0) refunded.push({ currency, amount: Number(count) })
        if (kind !== 'c' || currency === undefined || status === undefined || Number(count) === 0) continue
        totals.push({ currency, status: status as PaymentStatus, count: Number(count), amount: Number(item[counter('t', currency, status)] ?? 0) })
      }
      totals.sort((a, b) => a.currency.localeCompare(b.currency) || a.status.localeCompare(b.status))
      refunded.sort((a, b) => a.currency.localeCompare(b.currency))
      return { customerId, totals, refunded, lastPaymentAt: typeof item.lastPaymentAt === 'string' ? item.lastPaymentAt : null }
    }
  }
}
