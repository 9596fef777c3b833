import { GetItemCommand, QueryCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { marshall } from '@aws-sdk/util-dynamodb'
import type { IdempotencyRecord, TakenKey } from '../domain/idempotency.js'
import { InvalidTransitionError } from '../domain/errors.js'
import type { Payment, PaymentEvent } from '../domain/payment.js'
import type { PaymentStatus } from '../domain/payment-status.js'
import type { Refund } from '../domain/refund.js'
import { claimKey, recordHoldingKey } from './idempotency.js'
import { Keys, REFUND_SORT_KEY_PREFIX, UNSETTLED_KEY_ATTRIBUTES, fromItem, paymentIdOfKey, toItem, unsettledRefundPartitions } from './table.js'
import { attentionUpdate, queryUnsettled, resendUpdate, resendsExhaustedUpdate, type ResendFilter, type UnsettledEntry, type UnsettledGuard } from './unsettled.js'
import { writeIfCondition } from './conditional.js'
import type { PaymentAttention, PaymentResends } from '../domain/payment.js'
import { VersionConflictError } from '../domain/errors.js'
import { throwIfThrottled, writeTransaction } from './transaction.js'
import { THROTTLING_REASONS, TransientReason, retryTransient, type TransientRetry } from './transient.js'

/** The outcome of an idempotent refund: written with its reservation, the key was taken, or the payment refused it (as it was then; undefined: no such payment). */
export type RefundCreateOutcome =
  | { outcome: 'created' }
  | { outcome: 'key-taken', taken: TakenKey }
  | { outcome: 'refused', payment: Payment | undefined }

/** How a pending refund ended at the provider. */
export type RefundOutcome =
  | { status: 'succeeded', providerRef?: string }
  | { status: 'failed', reason: string, providerRef?: string }

/** What settling a refund wrote: the refund as it ends, and the payment when it changed. */
export interface SettledRefund {
  refund: Refund
  /** The payment after a success (amountRefunded, status, version); undefined after a failure. */
  payment?: Payment
}

/** A pending refund as the sweeper sees it: an unsettled entry, and its payment. */
export interface UnsettledRefund extends UnsettledEntry {
  paymentId: string
}

/** The statuses a payment may be refunded from. */
export const REFUNDABLE_STATUSES: readonly PaymentStatus[] = ['succeeded', 'partially_refunded']

/** Refunds and their reservations on the payment, in the single table. */
export interface RefundStore {
  /**
   * Writes the pending refund, its lookup by id, the reservation of its amount on the payment
   * and the idempotency record in one transaction, if the key is free and the payment can still
   * give the amount back (it is succeeded or partially_refunded, and amount − refunded − reserved
   * covers it): concurrent refunds can never reserve more than the payment's amount. Otherwise
   * says who holds the key, or the payment that refused the refund. Another transaction writing
   * the payment at the same time (a concurrent refund) is tried again, with backoff.
   * @throws DependencyThrottledError when DynamoDB kept refusing it (nothing written)
   */
  createIdempotently: (refund: Refund, record: IdempotencyRecord) => Promise<RefundCreateOutcome>
  /** A refund by its id alone. */
  get: (refundId: string) => Promise<Refund | undefined>
  /** A payment's refunds, oldest first. */
  listByPayment: (paymentId: string) => Promise<Refund[]>
  /**
   * Ends a pending refund, once: `succeeded` adds its amount to the payment's amountRefunded,
   * releases its reservation and moves the payment to partially_refunded or refunded (a new
   * version and a history event); `failed` releases the reservation only (no status change).
   * Undefined when the refund is not pending any more (another path ended it first: nothing changes).
   */
  settle: (refund: Refund, outcome: RefundOutcome) => Promise<SettledRefund | undefined>
  /**
   * Records a refund the provider made without paylith (its dashboard), succeeded, against its
   * payment: once per provider refund id (a duplicate or a later event about it is `duplicate`).
   * The payment's amountRefunded grows by its amount (never past the payment's amount) and it
   * moves to partially_refunded or refunded, with a history event.
   * @throws InvalidTransitionError for a payment that never succeeded (a webhook ahead of the charge: retried)
   */
  recordExternal: (payment: Payment, refund: Refund) => Promise<'recorded' | 'duplicate'>
  /**
   * Pending refunds created on `day` (YYYY-MM-DD) in [`from`, `to`], oldest first, at most
   * `limit`, from the sweeper's index (GSI3, `UNSETTLED_REFUND#<day>#<n>`); with `filter`, only
   * those the sweeper may act on now.
   */
  listUnsettled: (day: string, range: { from: string, to: string }, limit: number, filter?: ResendFilter) => Promise<UnsettledRefund[]>
  /** Records the sweeper's `resends.count`-th re-send of a refund still pending, once: of two overlapping sweeps, one wins. */
  recordResend: (refund: Pick<Refund, 'id' | 'paymentId'>, resends: PaymentResends) => Promise<boolean>
  /** Says the sweeper gave up on a refund still pending and re-sent `resends` times; false when it ended, was re-sent since or says so already. */
  flagResendsExhausted: (refund: Pick<Refund, 'id' | 'paymentId'> & { resends: number }, attention: PaymentAttention) => Promise<boolean>
  /** Says why a refund still pending needs a person (set only where no attention is); false when it ended or says so already. */
  flagAttention: (refund: Pick<Refund, 'id' | 'paymentId'>, attention: PaymentAttention) => Promise<boolean>
  /**
   * Records the provider's refund (Stripe `re_…`) on a refund still pending that it accepted but
   * has not settled, so the next `refund` command reads it back instead of creating it again.
   * Returns the refund with it.
   * @throws VersionConflictError when the refund ended, or holds another reference
   */
  recordProviderRef: (refund: Refund, providerRef: string) => Promise<Refund>
  /**
   * Moves a pending refund with no provider reference on to its next provider idempotency key
   * (`providerKeyGeneration` + 1): the current one is spent. Returns the refund with it.
   * @throws VersionConflictError when the refund ended, has a reference, or another attempt moved its key first
   */
  retireProviderKey: (refund: Refund) => Promise<Refund>
}

/**
 * Concurrent refunds of one payment each write it in a transaction, and DynamoDB cancels one of
 * two that meet (TransactionConflict): more tries than other writes, in a longer budget, so 20 at
 * once all get an answer.
 */
export const REFUND_CONFLICT_RETRY: Omit<TransientRetry, 'onTransient'> = { attempts: 12, baseMs: 20, capMs: 400, budgetMs: 5_000, retryAfterSeconds: 1 }

/** Tries at ending a refund when the payment keeps moving between the read and the write. */
const SETTLE_RACES = 5

/**
 * The payment once `amount` more of it was given back: what it has refunded (never more than
 * its amount), its status (never backwards: a payment a webhook already called refunded stays
 * so), its next version and that version's history event.
 */
function refundedMove (payment: Payment, amount: number, at: string, reason: string): { to: PaymentStatus, version: number, refunded: number, event: PaymentEvent } {
  const refunded = Math.min(payment.amount, (payment.amountRefunded ?? 0) + amount)
  const to: PaymentStatus = refunded >= payment.amount || payment.status === 'refunded' ? 'refunded' : 'partially_refunded'
  const version = payment.version + 1
  return { to, version, refunded, event: { paymentId: payment.id, version, status: to, previousStatus: payment.status, at, reason } }
}

/** Builds the refund store on a DynamoDB client. */
export function createRefundStore ({ dynamodb, tableName, clock, transient }: {
  dynamodb: DynamoDBClient
  tableName: string
  clock: () => Date
  /** Told of every transient refusal (the DynamoDbThrottled metric), as the other stores are. */
  transient?: Pick<TransientRetry, 'onTransient'>
}): RefundStore {
  const conflictPolicy: TransientRetry = { ...REFUND_CONFLICT_RETRY, ...(transient?.onTransient !== undefined && { onTransient: transient.onTransient }) }
  const readPayment = async (paymentId: string): Promise<Payment | undefined> => {
    const { Item } = await dynamodb.send(new GetItemCommand({ TableName: tableName, Key: marshall(Keys.payment(paymentId)), ConsistentRead: true }))
    return Item === undefined ? undefined : fromItem<Payment>(Item)
  }
  const readRefund = async (paymentId: string, refundId: string): Promise<Refund | undefined> => {
    const { Item } = await dynamodb.send(new GetItemCommand({ TableName: tableName, Key: marshall(Keys.refund(paymentId, refundId)), ConsistentRead: true }))
    return Item === undefined ? undefined : fromItem<Refund>(Item)
  }
  /**
   * The payment's side of a refund that succeeded: its update to the move (conditional on the
   * version it was read at; `alsoSet` what else the path changes) and the move's history event.
   */
  const refundedPaymentWrites = (payment: Payment, move: ReturnType<typeof refundedMove>, at: string, amount: number, alsoSet: string) => ({
    payment: {
      Update: {
        TableName: tableName,
        Key: marshall(Keys.payment(payment.id)),
        UpdateExpression: `SET #status = :to, version = :version, updatedAt = :at, amountRefunded = :refunded, ${alsoSet}`,
        ConditionExpression: 'version = :expected',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: marshall({ ':to': move.to, ':version': move.version, ':at': at, ':refunded': move.refunded, ':amount': amount, ':expected': payment.version })
      }
    },
    event: { Put: { TableName: tableName, Item: toItem(Keys.paymentEvent(payment.id, move.version), move.event), ConditionExpression: 'attribute_not_exists(pk)' } }
  })
  const refundUpdate = (refund: Refund, outcome: RefundOutcome, at: string) => ({
    Update: {
      TableName: tableName,
      Key: marshall(Keys.refund(refund.paymentId, refund.id)),
      // Ended: out of the sweeper's index, and nothing for a person to look at any more.
      UpdateExpression: `SET #status = :to, updatedAt = :at${outcome.providerRef !== undefined ? ', providerRef = :ref' : ''}${outcome.status === 'failed' ? ', failureReason = :reason' : ''} REMOVE attention, ${UNSETTLED_KEY_ATTRIBUTES.join(', ')}`,
      ConditionExpression: '#status = :pending',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: marshall({
        ':to': outcome.status,
        ':at': at,
        ':pending': 'pending',
        ...(outcome.providerRef !== undefined && { ':ref': outcome.providerRef }),
        ...(outcome.status === 'failed' && { ':reason': outcome.reason })
      })
    }
  })

  return {
    async createIdempotently (refund, record) {
      const operation = 'refunds.create'
      const items = {
        idempotency: claimKey(tableName, record, clock()),
        payment: {
          Update: {
            TableName: tableName,
            Key: marshall(Keys.payment(refund.paymentId)),
            // DynamoDB conditions do no arithmetic: amountRefundable is amount − refunded − reserved, kept by every write that moves those.
            UpdateExpression: 'SET amountRefundable = if_not_exists(amountRefundable, amount) - :amount, amountReserved = if_not_exists(amountReserved, :zero) + :amount',
            ConditionExpression: 'attribute_exists(pk) AND #status IN (:succeeded, :partial) AND (amountRefundable >= :amount OR (attribute_not_exists(amountRefundable) AND amount >= :amount))',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: marshall({ ':amount': refund.amount, ':zero': 0, ':succeeded': 'succeeded', ':partial': 'partially_refunded' }),
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const
          }
        },
        // In the sweeper's sparse index (GSI3) while pending: ending it removes the entry.
        refund: { Put: { TableName: tableName, Item: toItem({ ...Keys.refund(refund.paymentId, refund.id), ...Keys.unsettledRefund(refund.createdAt, refund.id) }, refund), ConditionExpression: 'attribute_not_exists(pk)' } },
        lookup: { Put: { TableName: tableName, Item: toItem(Keys.refundLookup(refund.id), { refundId: refund.id, paymentId: refund.paymentId }), ConditionExpression: 'attribute_not_exists(pk)' } }
      }
      // Throttling, and another refund writing the payment, are tried again; a conflict on the key means another request holds it (in flight).
      const cancelled = await retryTransient(operation, conflictPolicy, async () => {
        const result = await writeTransaction(dynamodb, items)
        const retryable = result?.transient !== undefined && (THROTTLING_REASONS.includes(result.transient) || result.reasons.idempotency?.Code !== TransientReason.transactionConflict)
        return { value: result, ...(retryable && { transient: result?.transient }) }
      })
      if (cancelled === undefined) return { outcome: 'created' }
      const { idempotency, payment } = cancelled.reasons
      if (idempotency?.Code === TransientReason.transactionConflict) return { outcome: 'key-taken', taken: { by: 'in-flight', cause: cancelled.error } }
      throwIfThrottled(cancelled, `the refund of ${refund.paymentId}`, { operation, policy: conflictPolicy })
      if (idempotency?.Code === 'ConditionalCheckFailed') {
        const existing = await recordHoldingKey(dynamodb, tableName, record, idempotency)
        return { outcome: 'key-taken', taken: { by: 'completed', record: existing, cause: cancelled.error } }
      }
      if (payment?.Code === 'ConditionalCheckFailed') {
        return { outcome: 'refused', payment: payment.Item === undefined ? undefined : fromItem<Payment>(payment.Item) }
      }
      throw cancelled.error
    },

    async get (refundId) {
      const { Item } = await dynamodb.send(new GetItemCommand({ TableName: tableName, Key: marshall(Keys.refundLookup(refundId)), ConsistentRead: true }))
      const paymentId = Item?.paymentId?.S
      return paymentId === undefined ? undefined : readRefund(paymentId, refundId)
    },

    async listByPayment (paymentId) {
      const items: Array<Record<string, AttributeValue>> = []
      let startKey: Record<string, AttributeValue> | undefined
      do {
        const page = await dynamodb.send(new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :refunds)',
          ExpressionAttributeValues: { ':pk': { S: Keys.payment(paymentId).pk }, ':refunds': { S: REFUND_SORT_KEY_PREFIX } },
          ConsistentRead: true,
          ExclusiveStartKey: startKey
        }))
        items.push(...(page.Items ?? []))
        startKey = page.LastEvaluatedKey
      } while (startKey !== undefined)
      return items.map((item) => fromItem<Refund>(item))
    },

    async settle (refund, outcome) {
      const operation = 'refunds.settle'
      for (let race = 1; ; race++) {
        const at = clock().toISOString()
        if (outcome.status === 'failed') {
          const cancelled = await writeTransaction(dynamodb, {
            refund: refundUpdate(refund, outcome, at),
            payment: {
              Update: {
                TableName: tableName,
                Key: marshall(Keys.payment(refund.paymentId)),
                UpdateExpression: 'SET amountReserved = amountReserved - :amount, amountRefundable = amountRefundable + :amount',
                ConditionExpression: 'attribute_exists(pk)',
                ExpressionAttributeValues: marshall({ ':amount': refund.amount })
              }
            }
          }, { operation, policy: conflictPolicy })
          if (cancelled === undefined) return { refund: { ...withoutAttention(refund), status: 'failed', failureReason: outcome.reason, updatedAt: at, ...(outcome.providerRef !== undefined && { providerRef: outcome.providerRef }) } }
          if (cancelled.reasons.refund?.Code === 'ConditionalCheckFailed') return undefined
          throwIfThrottled(cancelled, `the end of refund ${refund.id}`)
          throw cancelled.error
        }

        const payment = await readPayment(refund.paymentId)
        if (payment === undefined) throw new Error(`refund ${refund.id}: its payment ${refund.paymentId} does not exist`)
        const move = refundedMove(payment, refund.amount, at, `refund ${refund.id} succeeded: ${refund.amount} ${refund.currency}`)
        const { to, version, refunded } = move
        const cancelled = await writeTransaction(dynamodb, {
          refund: refundUpdate(refund, outcome, at),
          // Its reservation becomes refunded: released here.
          ...refundedPaymentWrites(payment, move, at, refund.amount, 'amountReserved = amountReserved - :amount REMOVE attention')
        }, { operation, policy: conflictPolicy })
        if (cancelled === undefined) {
          const { attention: _cleared, ...rest } = payment
          return {
            refund: { ...withoutAttention(refund), status: 'succeeded', updatedAt: at, ...(outcome.providerRef !== undefined && { providerRef: outcome.providerRef }) },
            payment: { ...rest, status: to, version, updatedAt: at, amountRefunded: refunded, amountReserved: (payment.amountReserved ?? refund.amount) - refund.amount }
          }
        }
        if (cancelled.reasons.refund?.Code === 'ConditionalCheckFailed') return undefined
        throwIfThrottled(cancelled, `the end of refund ${refund.id}`)
        // The payment moved since it was read: read it again and decide again.
        if (cancelled.reasons.payment?.Code !== 'ConditionalCheckFailed' || race >= SETTLE_RACES) throw cancelled.error
      }
    },

    async recordExternal (first, refund) {
      const operation = 'refunds.recordExternal'
      const providerRef = refund.providerRef ?? refund.id
      let payment: Payment | undefined = first
      for (let race = 1; ; race++) {
        if (payment === undefined) throw new Error(`refund ${refund.id}: its payment ${refund.paymentId} does not exist`)
        if (!['succeeded', 'partially_refunded', 'refunded'].includes(payment.status)) {
          throw new InvalidTransitionError(`payment ${payment.id} is ${payment.status}: a refund made at the provider cannot be recorded before it succeeded`, { paymentId: payment.id, from: payment.status, to: 'partially_refunded' })
        }
        const at = clock().toISOString()
        const move = refundedMove(payment, refund.amount, at, `refund ${providerRef} made at the provider: ${refund.amount} ${refund.currency}`)
        const cancelled = await writeTransaction(dynamodb, {
          claim: { Put: { TableName: tableName, Item: toItem(Keys.providerRef(providerRef), { paymentId: payment.id, refundId: refund.id }), ConditionExpression: 'attribute_not_exists(pk)' } },
          refund: { Put: { TableName: tableName, Item: toItem(Keys.refund(payment.id, refund.id), refund), ConditionExpression: 'attribute_not_exists(pk)' } },
          lookup: { Put: { TableName: tableName, Item: toItem(Keys.refundLookup(refund.id), { refundId: refund.id, paymentId: payment.id }), ConditionExpression: 'attribute_not_exists(pk)' } },
          // Nothing was reserved for it: what is left to refund shrinks instead.
          ...refundedPaymentWrites(payment, move, at, refund.amount, 'amountRefundable = if_not_exists(amountRefundable, amount) - :amount')
        }, { operation, policy: conflictPolicy })
        if (cancelled === undefined) return 'recorded'
        if (cancelled.reasons.claim?.Code === 'ConditionalCheckFailed') return 'duplicate'
        throwIfThrottled(cancelled, `the refund ${providerRef} of ${payment.id}`)
        if (cancelled.reasons.payment?.Code !== 'ConditionalCheckFailed' || race >= SETTLE_RACES) throw cancelled.error
        payment = await readPayment(payment.id)
      }
    },

    async listUnsettled (day, range, limit, filter) {
      const entries = await queryUnsettled(dynamodb, tableName, unsettledRefundPartitions(day), range, limit, filter)
      return entries.map((entry) => ({ ...entry, paymentId: paymentIdOfKey(entry.pk) }))
    },

    recordResend: async (refund, resends) => writeIfCondition(dynamodb, resendUpdate(tableName, Keys.refund(refund.paymentId, refund.id), resends, PENDING)),

    flagResendsExhausted: async (refund, attention) => writeIfCondition(dynamodb, resendsExhaustedUpdate(tableName, Keys.refund(refund.paymentId, refund.id), refund.resends, attention, PENDING)),

    flagAttention: async (refund, attention) => writeIfCondition(dynamodb, attentionUpdate(tableName, Keys.refund(refund.paymentId, refund.id), attention, PENDING)),

    async recordProviderRef (refund, providerRef) {
      if (refund.providerRef === providerRef) return refund
      const written = await writeIfCondition(dynamodb, new UpdateItemCommand({
        TableName: tableName,
        Key: marshall(Keys.refund(refund.paymentId, refund.id)),
        UpdateExpression: 'SET providerRef = :ref',
        ConditionExpression: `${PENDING.condition} AND (attribute_not_exists(providerRef) OR providerRef = :ref)`,
        ExpressionAttributeNames: PENDING.names,
        ExpressionAttributeValues: marshall({ ...PENDING.values, ':ref': providerRef })
      }), { operation: 'refunds.recordProviderRef', policy: conflictPolicy })
      if (!written) throw new VersionConflictError(`refund ${refund.id} ended or holds another provider reference than ${providerRef}`, { paymentId: refund.paymentId, expectedVersion: 0 })
      return { ...refund, providerRef }
    },

    async retireProviderKey (refund) {
      const generation = refund.providerKeyGeneration ?? 0
      const written = await writeIfCondition(dynamodb, new UpdateItemCommand({
        TableName: tableName,
        Key: marshall(Keys.refund(refund.paymentId, refund.id)),
        UpdateExpression: 'SET providerKeyGeneration = :next',
        ConditionExpression: `${PENDING.condition} AND attribute_not_exists(providerRef) AND ${generation === 0 ? 'attribute_not_exists(providerKeyGeneration)' : 'providerKeyGeneration = :current'}`,
        ExpressionAttributeNames: PENDING.names,
        ExpressionAttributeValues: marshall({ ...PENDING.values, ':next': generation + 1, ...(generation !== 0 && { ':current': generation }) })
      }), { operation: 'refunds.retireProviderKey', policy: conflictPolicy })
      if (!written) throw new VersionConflictError(`refund ${refund.id} ended, has a provider reference, or moved on from provider key generation ${generation}`, { paymentId: refund.paymentId, expectedVersion: 0 })
      return { ...refund, providerKeyGeneration: generation + 1 }
    }
  }
}

/** What a refund must still be for the sweeper (or a provider reference, or a new key) to be written on it: pending. */
const PENDING: UnsettledGuard = { condition: '#status = :pending', names: { '#status': 'status' }, values: { ':pending': 'pending' } }

/** A refund that ended: its attention, if it had one, is over. */
function withoutAttention (refund: Refund): Refund {
  const { attention: _over, ...rest } = refund
  return rest
}
