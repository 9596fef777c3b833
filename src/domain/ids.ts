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
