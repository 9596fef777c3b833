import { WebhookSignatureError } from '../../errors.js'
import { unixSeconds } from '../../time.js'

/** Why a webhook signature was refused; each is its own problem type. */
export const SignatureProblem = {
  missingHeader: 'missing-header',
  malformedHeader: 'malformed-header',
  timestampOutOfTolerance: 'timestamp-out-of-tolerance',
  noMatchingSignature: 'no-matching-signature'
} as const

/** One reason a signature was refused. */
export type SignatureProblem = (typeof SignatureProblem)[keyof typeof SignatureProblem]

/** Refuses a timestamp more than `toleranceSeconds` before or after `now`. */
export function checkTimestamp (timestamp: number, now: Date, toleranceSeconds: number): void {
  const skew = unixSeconds(now) - timestamp
  if (Math.abs(skew) > toleranceSeconds) {
    throw new WebhookSignatureError(`the timestamp is ${Math.abs(skew)} s ${skew > 0 ? 'old' : 'in the future'}; at most ${toleranceSeconds} s either way is accepted`, { problem: SignatureProblem.timestampOutOfTolerance })
  }
}

/** Parses a whole number of Unix seconds, or undefined. */
export function parseUnixSeconds (value: string | undefined): number | undefined {
  return value !== undefined && /^\d{1,12}$/.test(value) ? Number(value) : undefined
}
