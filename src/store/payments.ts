import {
  GetItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient
} from '@aws-sdk/client-dynamodb'
import { marshall } from '@aws-sdk/util-dynamodb'
import { type NewPayment, type Payment, type PaymentAttention, type PaymentEvent, type PaymentResends } from '../domain/payment.js'
import { canTransition, type PaymentStatus } from '../domain/payment-status.js'
import { InvalidTransitionError, VersionConflictError } from '../domain/errors.js'
import type { IdempotencyRecord, TakenKey } from '../domain/idempotency.js'
import { writeIfCondition } from './conditional.js'
import { queryListing, querySharded } from './listing.js'
import { claimKey, keyTaken, readIdempotencyRecord, recordHoldingKey } from './idempotency.js'
import { Keys, Listings, UNSETTLED_KEY_ATTRIBUTES, allPaymentsListing, fromItem, isPaymentEventSortKey, isPaymentKey, primaryKeyOf, toItem, unsettledPartitions } from './table.js'
import { attentionUpdate, queryUnsettled, resendUpdate, resendsExhaustedUpdate, type ResendFilter, type UnsettledEntry, type UnsettledGuard } from './unsettled.js'
import { throwIfThrottled, writeTransaction } from './transaction.js'
import { DEFAULT_TRANSIENT_RETRY, THROTTLING_REASONS, type TransientRetry } from './transient.js'
import { TABLE } from '../aws/resources.js'

/** The outcome of an idempotent create: written, or the key was taken (what the domain decides on). */
export type CreateOutcome = { created: true } | ({ created: false } & TakenKey)

/**
 * The outcome of an idempotent cancel: written, or the payment moved since it was read (read it
 * again and decide again), or the key was taken (what the domain decides on).
 */
export type CancelOutcome = { canceled: true } | { canceled: false, by: 'moved' } | ({ canceled: false } & TakenKey)

/** One page of a customer's payments, newest first. */
export interface PaymentPage {
  payments: Payment[]
  nextCursor: string | null
}

/** Details recorded with a status change. */
export interface TransitionDetails {
  reason?: string
  providerRef?: string
  /** Kept on the payment while it is `requires_action`. */
  clientSecret?: string
}

/** Payments and their history in the single table. */
export interface PaymentStore {
  /**
   * Writes the payment, its first history event and the idempotency record in one
   * transaction, if the record's key is free (never used, or its record expired). Otherwise says
   * who holds the key: a transaction in flight, or an earlier request (with its record).
   * A transaction DynamoDB throttles is tried again with backoff, a few times.
   * @throws DependencyThrottledError when it is still throttled after those tries (nothing written)
   */
  createIdempotently: (payment: Payment, record: IdempotencyRecord) => Promise<CreateOutcome>
  /**
   * Cancels a pending payment: writes `canceled` (made by movedPayment from `payment`), its
   * history event and the idempotency record in one transaction, conditional on the payment
   * still being pending at the version it was read at and on the key being free. A payment that
   * moved meanwhile (the charge worker took it) is `moved`; a key held says by whom.
   * @throws DependencyThrottledError when DynamoDB kept throttling the write (nothing written)
   */
  cancelIdempotently: (payment: Payment, canceled: Payment, record: IdempotencyRecord) => Promise<CancelOutcome>
  /** The live or expired record of an Idempotency-Key (strongly consistent), if any. */
  idempotencyRecord: (scope: string, key: string) => Promise<IdempotencyRecord | undefined>
  get: (paymentId: string) => Promise<Payment | undefined>
  /** A customer's payments, newest first; with `status`, only that status's (a filter: a page may hold fewer than `limit`). */
  listByCustomer: (customerId: string, options: { limit: number, cursor?: string, status?: PaymentStatus }) => Promise<PaymentPage>
  /**
   * Every payment, newest first, with `status` only that status's: a merge of the listing's
   * shards (querySharded). Filtered, a page may hold fewer than `limit` (even none) and go on.
   */
  listAll: (options: { limit: number, cursor?: string, status?: PaymentStatus }) => Promise<PaymentPage>
  /** The payment's history, oldest first, or undefined if there is no such payment. */
  history: (paymentId: string) => Promise<PaymentEvent[] | undefined>
  /**
   * Moves a payment to `to`, conditional on the version it was read at. Clears its attention:
   * the payment moves again.
   * @throws InvalidTransitionError for a move the lifecycle forbids
   * @throws VersionConflictError when the payment changed since it was read (a refund's reservation included)
   * @throws DependencyThrottledError when DynamoDB kept throttling the write, or it kept meeting
   *   another transaction, after a few tries with backoff (nothing written)
   */
  transition: (payment: Payment, to: PaymentStatus, details?: TransitionDetails) => Promise<Payment>
  /** The payment a provider reference was recorded for, if any. */
  findByProviderRef: (providerRef: string) => Promise<Payment | undefined>
  /**
   * Unsettled payments created on `day` (YYYY-MM-DD) in [`from`, `to`), oldest first, at most
   * `limit`; with `filter`, only those the sweeper may act on now (filtered by the index query
   * itself: no read per payment). It reads every shard of the day (a few at a time) and keeps the
   * oldest `limit` of them all: the same payments one unsharded partition would have given.
   */
  listUnsettled: (day: string, range: { from: string, to: string }, limit: number, filter?: ResendFilter) => Promise<UnsettledEntry[]>
  /**
   * Records one more re-send of an unsettled payment's charge, if it is still at the version it
   * was read at and was re-sent exactly `resends.count - 1` times: of two overlapping sweeps,
   * one wins. Leaves the version and the history alone. False when another sweep got there
   * first or the payment moved.
   */
  recordResend: (payment: Pick<Payment, 'id' | 'version'>, resends: PaymentResends) => Promise<boolean>
  /**
   * Says the sweeper gave up on an unsettled payment re-sent `resends` times (attention
   * `resends-exhausted`, replacing any other), if it has not moved or been re-sent since. False
   * when it moved or already says so.
   */
  flagResendsExhausted: (payment: Pick<Payment, 'id' | 'version'> & { resends: number }, attention: PaymentAttention) => Promise<boolean>
  /**
   * Says why an unsettled payment needs a person, if it is still at the version it was read at
   * (it has not moved since). Leaves the version alone: attention is not a status change, and
   * any transition still conditional on that version clears it. An attention naming a dead
   * letter replaces any other (except the same one); one without is set only where none is.
   * False when the payment moved, settled, or already says so.
   */
  flagAttention: (payment: Pick<Payment, 'id' | 'version'>, attention: PaymentAttention) => Promise<boolean>
  /**
   * Records that the provider accepted the charge and will settle it by webhook (bank debits):
   * the payment stays processing, keeps the reference, and leaves the unsettled index, so the
   * sweeper does not keep re-charging it. Conditional on the version it was read at.
   */
  markAwaitingProvider: (payment: Payment, providerRef: string) => Promise<void>
  /**
   * Records the provider's object (a PaymentIntent) created for a processing payment before it
   * is confirmed, with its lookup by reference (for webhooks). Leaves the version and the
   * history alone: not a status change. Returns the payment with it.
   * @throws VersionConflictError when the payment moved, or holds another reference
   */
  recordProviderRef: (payment: Payment, providerRef: string) => Promise<Payment>
  /**
   * Moves a processing payment, whose provider object was never recorded, on to its next
   * provider idempotency key (`providerKeyGeneration` + 1): the current one is spent. Leaves the
   * version and the history alone. Returns the payment with it.
   * @throws VersionConflictError when the payment moved, has a reference, or another attempt moved its key first
   */
  retireProviderKey: (payment: Payment) => Promise<Payment>
}

/** Builds the payment store on a DynamoDB client; `transient` says how writes DynamoDB refuses for now are tried again. */
export function createPaymentStore ({ dynamodb, tableName, clock, transient = DEFAULT_TRANSIENT_RETRY }: {
  dynamodb: DynamoDBClient
  tableName: string
  clock: () => Date
  transient?: TransientRetry
}): PaymentStore {
  const put = (item: Record<string, AttributeValue>, condition: string, values?: Record<string, AttributeValue>) => ({
    Put: {
      TableName: tableName,
      Item: item,
      ConditionExpression: condition,
      ...(values !== undefined && { ExpressionAttributeValues: values })
    }
  })

  const getPayment = async (paymentId: string): Promise<Payment | undefined> => {
    const { Item } = await dynamodb.send(new GetItemCommand({ TableName: tableName, Key: marshall(Keys.payment(paymentId)), ConsistentRead: true }))
    return Item === undefined ? undefined : fromItem<Payment>(Item)
  }

  return {
    async createIdempotently (payment, record) {
      const operation = 'payments.create'
      const created = newPaymentItems(payment)
      const cancelled = await writeTransaction(dynamodb, {
        idempotency: claimKey(tableName, record, clock()),
        payment: put(created.payment, 'attribute_not_exists(pk)'),
        event: put(created.event, 'attribute_not_exists(pk)')
      // Throttling is tried again; a conflict means another request holds the key (in flight), an answer.
      }, { operation, policy: transient, retryOn: THROTTLING_REASONS })
      if (cancelled === undefined) return { created: true }
      return { created: false, ...await keyTaken(dynamodb, tableName, record, cancelled, 'the new payment') }
    },

    async cancelIdempotently (payment, canceled, record) {
      const operation = 'payments.cancel'
      const cancelled = await writeTransaction(dynamodb, {
        idempotency: claimKey(tableName, record, clock()),
        // Still pending at the version read: the charge worker's pending → processing is conditional on the same version, so one of the two wins.
        payment: {
          Put: {
            TableName: tableName,
            Item: paymentItem(canceled),
            ConditionExpression: 'version = :expected AND #status = :pending',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':expected': { N: String(payment.version) }, ':pending': { S: 'pending' } }
          }
        },
        event: put(eventItem(eventOf(payment, canceled)), 'attribute_not_exists(pk)')
      }, { operation, policy: transient, retryOn: THROTTLING_REASONS })
      if (cancelled === undefined) return { canceled: true }
      throwIfThrottled(cancelled, `payment ${payment.id}'s cancel`)
      const { idempotency, payment: paymentReason, event } = cancelled.reasons
      // The key first: a request that holds it (or held it) decides the answer, whatever the payment did.
      if (idempotency?.Code === 'TransactionConflict') return { canceled: false, by: 'in-flight', cause: cancelled.error }
      if (idempotency?.Code === 'ConditionalCheckFailed') {
        const existing = await recordHoldingKey(dynamodb, tableName, record, idempotency)
        return { canceled: false, by: 'completed', record: existing, cause: cancelled.error }
      }
      const moved = (reason: { Code?: string } | undefined) => reason?.Code === 'ConditionalCheckFailed' || reason?.Code === 'TransactionConflict'
      if (moved(paymentReason) || moved(event)) return { canceled: false, by: 'moved' }
      throw cancelled.error
    },

    idempotencyRecord: async (scope, key) => readIdempotencyRecord(dynamodb, tableName, scope, key),

    get: getPayment,

    async listByCustomer (customerId, { status, ...page }) {
      const listing = Listings.customerPayments(customerId, status)
      const { items, nextCursor } = await queryListing(dynamodb, tableName, listing, { ...page, ...(status !== undefined && { filter: { attribute: 'status', value: status } }) })
      return { payments: items.map((item) => fromItem<Payment>(item)), nextCursor }
    },

    async listAll ({ status, ...page }) {
      const { items, nextCursor } = await querySharded(dynamodb, tableName, allPaymentsListing(status), page)
      return { payments: items.map((item) => fromItem<Payment>(item)), nextCursor }
    },

    async history (paymentId) {
      const items: Array<Record<string, AttributeValue>> = []
      let startKey: Record<string, AttributeValue> | undefined
      do {
        const page = await dynamodb.send(new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: Keys.payment(paymentId).pk } },
          ConsistentRead: true,
          ExclusiveStartKey: startKey
        }))
        items.push(...(page.Items ?? []))
        startKey = page.LastEvaluatedKey
      } while (startKey !== undefined)
      if (!items.some((item) => isPaymentKey(primaryKeyOf(item)))) return undefined
      return items.filter((item) => isPaymentEventSortKey(primaryKeyOf(item).sk)).map((item) => fromItem<PaymentEvent>(item))
    },

    async transition (payment, to, details = {}) {
      if (!canTransition(payment.status, to)) {
        throw new InvalidTransitionError(`payment ${payment.id} cannot move from ${payment.status} to ${to}`, { paymentId: payment.id, from: payment.status, to })
      }
      const next = movedPayment(payment, to, clock(), details)
      const event = eventOf(payment, next, details.reason)
      const newRef = details.providerRef !== undefined && details.providerRef !== payment.providerRef
      const cancelled = await writeTransaction(dynamodb, {
        // A refund's reservation moves amountReserved without a new version: a payment read before it must not write it back.
        payment: put(paymentItem(next), `version = :expected AND ${payment.amountReserved === undefined ? 'attribute_not_exists(amountReserved)' : 'amountReserved = :reserved'}`, {
          ':expected': { N: String(payment.version) },
          ...(payment.amountReserved !== undefined && { ':reserved': { N: String(payment.amountReserved) } })
        }),
        event: put(eventItem(event), 'attribute_not_exists(pk)'),
        providerRef: newRef ? put(toItem(Keys.providerRef(details.providerRef as string), { paymentId: payment.id }), 'attribute_not_exists(pk) OR paymentId = :id', { ':id': { S: payment.id } }) : undefined
      // Conditional on the version read, so a second try never moves the payment twice.
      }, { operation: 'payments.transition', policy: transient })
      if (cancelled === undefined) return next
      throwIfThrottled(cancelled, `payment ${payment.id}'s move to ${to}`)
      if (cancelled.reasons.payment?.Code === 'ConditionalCheckFailed') {
        throw new VersionConflictError(`payment ${payment.id} changed since version ${payment.version} was read`, { paymentId: payment.id, expectedVersion: payment.version, cause: cancelled.error })
      }
      if (cancelled.reasons.providerRef?.Code === 'ConditionalCheckFailed') {
        throw new Error(`provider reference ${details.providerRef} already belongs to another payment; refusing to attach it to ${payment.id}`, { cause: cancelled.error })
      }
      throw cancelled.error
    },

    listUnsettled: async (day, range, limit, filter) => queryUnsettled(dynamodb, tableName, unsettledPartitions(day), range, limit, filter),

    recordResend: async (payment, resends) => writeIfCondition(dynamodb, resendUpdate(tableName, Keys.payment(payment.id), resends, unsettledGuard(payment))),

    flagResendsExhausted: async (payment, attention) => writeIfCondition(dynamodb, resendsExhaustedUpdate(tableName, Keys.payment(payment.id), payment.resends, attention, unsettledGuard(payment))),

    async markAwaitingProvider (payment, providerRef) {
      const written = await writeIfCondition(dynamodb, new UpdateItemCommand({
        TableName: tableName,
        Key: marshall(Keys.payment(payment.id)),
        // GSI2 is set to the listing key: a payment of before leaves GSI2's old unsettled partition with it.
        UpdateExpression: `SET providerRef = :ref, awaitingProvider = :true, #listingPk = :listingPk, #listingSk = :listingSk REMOVE ${UNSETTLED_KEY_ATTRIBUTES.join(', ')}`,
        ConditionExpression: 'version = :version AND #status = :processing',
        ExpressionAttributeNames: { '#status': 'status', '#listingPk': TABLE.gsi2.partitionKey, '#listingSk': TABLE.gsi2.sortKey },
        ExpressionAttributeValues: marshall({ ':ref': providerRef, ':true': true, ':version': payment.version, ':processing': 'processing', ...listingKeyValues(payment) })
      }))
      if (!written) throw new VersionConflictError(`payment ${payment.id} changed since version ${payment.version} was read`, { paymentId: payment.id, expectedVersion: payment.version })
    },

    async retireProviderKey (payment) {
      const generation = payment.providerKeyGeneration ?? 0
      const written = await writeIfCondition(dynamodb, new UpdateItemCommand({
        TableName: tableName,
        Key: marshall(Keys.payment(payment.id)),
        UpdateExpression: 'SET providerKeyGeneration = :next',
        ConditionExpression: `version = :version AND #status = :processing AND attribute_not_exists(providerRef) AND ${generation === 0 ? 'attribute_not_exists(providerKeyGeneration)' : 'providerKeyGeneration = :current'}`,
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: marshall({ ':next': generation + 1, ':version': payment.version, ':processing': 'processing', ...(generation !== 0 && { ':current': generation }) })
      }), { operation: 'payments.retireProviderKey', policy: transient })
      if (!written) throw new VersionConflictError(`payment ${payment.id} changed since version ${payment.version} (provider key generation ${generation}) was read`, { paymentId: payment.id, expectedVersion: payment.version })
      return { ...payment, providerKeyGeneration: generation + 1 }
    },

    async recordProviderRef (payment, providerRef) {
      if (payment.providerRef === providerRef) return payment
      const cancelled = await writeTransaction(dynamodb, {
        payment: {
          Update: {
            TableName: tableName,
            Key: marshall(Keys.payment(payment.id)),
            UpdateExpression: 'SET providerRef = :ref',
            ConditionExpression: 'version = :version AND #status = :processing AND (attribute_not_exists(providerRef) OR providerRef = :ref)',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: marshall({ ':ref': providerRef, ':version': payment.version, ':processing': 'processing' })
          }
        },
        providerRef: put(toItem(Keys.providerRef(providerRef), { paymentId: payment.id }), 'attribute_not_exists(pk) OR paymentId = :id', { ':id': { S: payment.id } })
      }, { operation: 'payments.recordProviderRef', policy: transient })
      if (cancelled === undefined) return { ...payment, providerRef }
      throwIfThrottled(cancelled, `payment ${payment.id}'s provider reference`)
      if (cancelled.reasons.payment?.Code === 'ConditionalCheckFailed') {
        throw new VersionConflictError(`payment ${payment.id} changed since version ${payment.version} was read`, { paymentId: payment.id, expectedVersion: payment.version, cause: cancelled.error })
      }
      if (cancelled.reasons.providerRef?.Code === 'ConditionalCheckFailed') {
        throw new Error(`provider reference ${providerRef} already belongs to another payment; refusing to attach it to ${payment.id}`, { cause: cancelled.error })
      }
      throw cancelled.error
    },

    flagAttention: async (payment, attention) => writeIfCondition(dynamodb, attentionUpdate(tableName, Keys.payment(payment.id), attention, unsettledGuard(payment))),

    async findByProviderRef (providerRef) {
      const { Item } = await dynamodb.send(new GetItemCommand({ TableName: tableName, Key: marshall(Keys.providerRef(providerRef)), ConsistentRead: true }))
      const paymentId = Item?.paymentId?.S
      return paymentId === undefined ? undefined : getPayment(paymentId)
    }
  }
}

/** What a payment must still be for the sweeper to write it: at the version read, and unsettled. */
function unsettledGuard (payment: Pick<Payment, 'version'>): UnsettledGuard {
  return {
    condition: 'version = :version AND #status IN (:pending, :processing)',
    names: { '#status': 'status' },
    values: { ':version': payment.version, ':pending': 'pending', ':processing': 'processing' }
  }
}

/**
 * The payment as it is once moved to `to` at `now`: the next version, its attention and a stale
 * client secret dropped (it moves again), the details kept where they belong.
 */
export function movedPayment (payment: Payment, to: PaymentStatus, now: Date, details: TransitionDetails = {}): Payment {
  const { attention: _cleared, clientSecret: _stale, ...moving } = payment
  return {
    ...moving,
    status: to,
    version: payment.version + 1,
    updatedAt: now.toISOString(),
    ...(details.providerRef !== undefined && { providerRef: details.providerRef }),
    ...(details.clientSecret !== undefined && to === 'requires_action' && { clientSecret: details.clientSecret }),
    ...(details.reason !== undefined && to === 'failed' && { failureReason: details.reason }),
    // Refunded in full, as the provider says: all of it was given back, whatever paylith knew of.
    ...(to === 'refunded' && { amountRefunded: payment.amount })
  }
}

/** The history event of the move from `payment` to `next`. */
function eventOf (payment: Payment, next: Payment, reason?: string): PaymentEvent {
  return { paymentId: payment.id, version: next.version, status: next.status, previousStatus: payment.status, at: next.updatedAt, ...(reason !== undefined && { reason }) }
}

/** The items a new payment is written as (with its key's record): the payment, in its listings, and its first history event. */
export function newPaymentItems (payment: Payment): { payment: Record<string, AttributeValue>, event: Record<string, AttributeValue> } {
  return { payment: paymentItem(payment), event: eventItem(firstEvent(payment)) }
}

function firstEvent (payment: Payment): PaymentEvent {
  return { paymentId: payment.id, version: payment.version, status: payment.status, previousStatus: null, at: payment.createdAt }
}

function paymentItem (payment: Payment): Record<string, AttributeValue> {
  const unsettled = (payment.status === 'pending' || payment.status === 'processing') && payment.awaitingProvider !== true
  return toItem({
    ...Keys.payment(payment.id),
    ...Keys.paymentByCustomer(payment.customerId, payment.createdAt, payment.id),
    ...Keys.paymentListing(payment.createdAt, payment.id),
    // In the sparse GSI3 while unsettled, so the sweeper finds payments that stopped moving.
    ...(unsettled && Keys.unsettledPayment(payment.createdAt, payment.id))
  }, payment)
}

/** A payment's GSI2 listing key as update values (`:listingPk`, `:listingSk`). */
function listingKeyValues (payment: Pick<Payment, 'id' | 'createdAt'>): { ':listingPk': string, ':listingSk': string } {
  const keys = Keys.paymentListing(payment.createdAt, payment.id)
  return { ':listingPk': keys[TABLE.gsi2.partitionKey] ?? '', ':listingSk': keys[TABLE.gsi2.sortKey] ?? '' }
}

function eventItem (event: PaymentEvent): Record<string, AttributeValue> {
  return toItem(Keys.paymentEvent(event.paymentId, event.version), event)
}

/** A new payment's stored form, pending at version 1. */
export function newPayment (id: string, input: NewPayment, now: Date): Payment {
  const at = now.toISOString()
  return {
    id,
    status: 'pending',
    amount: input.amount,
    currency: input.currency,
    customerId: input.customerId,
    ...(input.description !== undefined && { description: input.description }),
    ...(input.metadata !== undefined && { metadata: input.metadata }),
    ...(input.confirmation !== undefined && { confirmation: input.confirmation }),
    ...(input.providerCustomer !== undefined && { providerCustomer: input.providerCustomer }),
    ...(input.providerPaymentMethod !== undefined && { providerPaymentMethod: input.providerPaymentMethod }),
    version: 1,
    createdAt: at,
    updatedAt: at
  }
}
