import { monotonicFactory } from 'ulid'

/** Makes payment ids: `pay_` and a ULID, so ids sort by creation time. */
export type IdGenerator = () => string

/** The production id generator (monotonic within a millisecond). */
export function createIdGenerator (): IdGenerator {
  const ulid = monotonicFactory()
  return () => `pay_${ulid()}`
}

/** The shape of a payment id. */
export const PAYMENT_ID_PATTERN = '^pay_[0-9A-HJKMNP-TV-Z]{26}$'

/** Makes settlement ids: `stl_` and a ULID. */
export function createSettlementIdGenerator (): IdGenerator {
  const ulid = monotonicFactory()
  return () => `stl_${ulid()}`
}

/** The shape of a settlement id. */
export const SETTLEMENT_ID_PATTERN = '^stl_[0-9A-HJKMNP-TV-Z]{26}$'

/** Makes refund ids: `re_` and a ULID, so a payment's refunds sort by creation time. */
export function createRefundIdGenerator (): IdGenerator {
  const ulid = monotonicFactory()
  return () => `re_${ulid()}`
}

/** The shape of a refund id. */
export const REFUND_ID_PATTERN = '^re_[0-9A-HJKMNP-TV-Z]{26}$'
