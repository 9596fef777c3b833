import { AppError } from '../../../errors.js'
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

const TITLES: Record<SignatureProblem, string> = {
  'missing-header': 'Webhook Signature Header Missing',
  'malformed-header': 'Webhook Signature Header Malformed',
  'timestamp-out-of-tolerance': 'Webhook Timestamp Outside Tolerance',
  'no-matching-signature': 'Webhook Signature Mismatch'
}

/** A webhook whose signature does not verify. Its message never holds a secret or the body. */
export class WebhookSignatureError extends AppError {
  readonly problem: SignatureProblem

  constructor (problem: SignatureProblem, message: string) {
    super({
      statusCode: 400,
      code: `PAYLITH_WEBHOOK_${problem.toUpperCase().replace(/-/g, '_')}`,
      slug: `webhook-${problem}`,
      title: TITLES[problem]
    }, message)
    this.name = 'WebhookSignatureError'
    this.problem = problem
  }
}

/** Default tolerance, in seconds, between a webhook's timestamp and our clock, both ways. */
export const DEFAULT_TOLERANCE_SECONDS = 300

/** Refuses a timestamp more than `toleranceSeconds` before or after `now`. */
export function checkTimestamp (timestamp: number, now: Date, toleranceSeconds: number): void {
  const skew = unixSeconds(now) - timestamp
  if (Math.abs(skew) > toleranceSeconds) {
    throw new WebhookSignatureError(SignatureProblem.timestampOutOfTolerance, `the timestamp is ${Math.abs(skew)} s ${skew > 0 ? 'old' : 'in the future'}; at most ${toleranceSeconds} s either way is accepted`)
  }
}

/** Parses a whole number of Unix seconds, or undefined. */
export function parseUnixSeconds (value: string | undefined): number | undefined {
  return value !== undefined && /^\d{1,12}$/.test(value) ? Number(value) : undefined
}
