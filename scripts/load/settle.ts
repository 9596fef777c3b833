import { setTimeout as sleep } from 'node:timers/promises'
import { BatchGetItemCommand, DynamoDBClient, type AttributeValue, type BatchGetItemCommandOutput } from '@aws-sdk/client-dynamodb'
import type { Payment } from '../../src/domain/payment.js'
import { PaymentStatus } from '../../src/domain/payment-status.js'
import { Keys, fromItem } from '../../src/store/table.js'

/** Statuses a payment does not leave on its own. */
const FINAL: ReadonlySet<string> = new Set([PaymentStatus.succeeded, PaymentStatus.failed, PaymentStatus.refunded, PaymentStatus.canceled])

/** BatchGetItem's limit. */
const BATCH = 100

/** Whether a payment is done moving: final, or marked as needing a person (visibly waiting). */
export function isSettledOrWaiting (payment: Pick<Payment, 'status' | 'attention'>): boolean {
  return FINAL.has(payment.status) || payment.attention !== undefined
}

/** Whether a status is final. */
export function isFinalStatus (status: string): boolean {
  return FINAL.has(status)
}

/** Reads payments straight from the app's table (not through the API, which is under test). */
export interface PaymentReader {
  /** The payments with these ids that exist. */
  read: (ids: readonly string[]) => Promise<Map<string, Payment>>
  close: () => void
}

/** A reader of the app's table, from the environment the app runs with (endpoint, region, credentials, TABLE_NAME). */
export function paymentReader (env: Readonly<Record<string, string>>): PaymentReader {
  const endpoint = env.AWS_ENDPOINT_URL_DYNAMODB ?? env.AWS_ENDPOINT_URL
  const client = new DynamoDBClient({
    region: env.AWS_REGION ?? 'us-east-1',
    ...(endpoint !== undefined && { endpoint }),
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID ?? 'test', secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? 'test' }
  })
  const tableName = env.TABLE_NAME ?? 'paylith'
  const readBatch = async (ids: readonly string[]): Promise<Payment[]> => {
    let keys: Array<Record<string, AttributeValue>> | undefined = ids.map((id) => {
      const { pk, sk } = Keys.payment(id)
      return { pk: { S: pk }, sk: { S: sk } }
    })
    const found: Payment[] = []
    for (let attempt = 0; keys !== undefined && keys.length > 0 && attempt < 10; attempt++) {
      if (attempt > 0) await sleep(50 * attempt)
      const { Responses, UnprocessedKeys }: BatchGetItemCommandOutput = await client.send(new BatchGetItemCommand({ RequestItems: { [tableName]: { Keys: keys, ConsistentRead: true } } }))
      found.push(...(Responses?.[tableName] ?? []).map((item) => fromItem<Payment>(item)))
      keys = UnprocessedKeys?.[tableName]?.Keys
    }
    return found
  }
  return {
    read: async (ids) => {
      const batches: string[][] = []
      for (let index = 0; index < ids.length; index += BATCH) batches.push(ids.slice(index, index + BATCH))
      const payments = new Map<string, Payment>()
      for (let index = 0; index < batches.length; index += 4) {
        const read = await Promise.all(batches.slice(index, index + 4).map(readBatch))
        for (const payment of read.flat()) payments.set(payment.id, payment)
      }
      return payments
    },
    close: () => { client.destroy() }
  }
}

/** How the drain ended. */
export interface DrainResult {
  /** The payments as last read. */
  payments: Map<string, Payment>
  /** How long it waited, ms. */
  ms: number
  /** Whether every payment was final or visibly waiting when it stopped. */
  complete: boolean
}

/** What the drain is told. */
export interface DrainOptions {
  timeoutMs: number
  intervalMs?: number
  signal?: AbortSignal
  /** Called after each read with how many payments are not settled yet. */
  onProgress?: (unsettled: number, elapsedMs: number) => void
}

/**
 * After the load: reads the payments again and again until every one is final or visibly
 * waiting (attention set), or the time is up.
 */
export async function drain (reader: Pick<PaymentReader, 'read'>, ids: readonly string[], options: DrainOptions): Promise<DrainResult> {
  const started = Date.now()
  const intervalMs = options.intervalMs ?? 1000
  for (;;) {
    const payments = await reader.read(ids)
    const unsettled = ids.filter((id) => { const payment = payments.get(id); return payment === undefined || !isSettledOrWaiting(payment) }).length
    const ms = Date.now() - started
    options.onProgress?.(unsettled, ms)
    if (unsettled === 0) return { payments, ms, complete: true }
    if (ms + intervalMs > options.timeoutMs || options.signal?.aborted === true) return { payments, ms, complete: false }
    await sleep(intervalMs, undefined, { signal: options.signal }).catch(() => {})
  }
}
