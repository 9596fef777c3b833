/**
 * Stripe counts a few currencies' amounts differently from ISO 4217, whose minor units paylith
 * stores. Stripe still treats ISK as two-decimal (ISO: zero-decimal), so an ISO amount of
 * 5000 kr is 500000 for Stripe; and it charges the three-decimal currencies only in amounts whose
 * last digit is 0. https://docs.stripe.com/currencies#special-cases
 */

/** Stripe's amount per ISO minor unit, where it is not 1. */
const STRIPE_FACTOR: Readonly<Record<string, number>> = { ISK: 100 }

/** ISO 4217 three-decimal currencies: Stripe wants their amounts to end in 0. */
const THREE_DECIMAL: ReadonlySet<string> = new Set(['BHD', 'JOD', 'KWD', 'OMR', 'TND'])

/** The largest amount Stripe takes (eight digits). */
export const STRIPE_MAX_AMOUNT = 99_999_999

/** Why Stripe cannot charge this ISO amount, or undefined when it can. */
export function stripeAmountProblem (currency: string, amount: number): string | undefined {
  if (THREE_DECIMAL.has(currency) && amount % 10 !== 0) {
    return `Stripe charges ${currency} only in amounts whose last digit is 0 (in thousandths); ${amount} is not (round it to ${amount - (amount % 10)} or ${amount - (amount % 10) + 10})`
  }
  const factor = STRIPE_FACTOR[currency] ?? 1
  if (amount * factor > STRIPE_MAX_AMOUNT) {
    return `Stripe takes at most ${STRIPE_MAX_AMOUNT} in its units; ${amount} ${currency} is ${amount * factor}, so at most ${Math.floor(STRIPE_MAX_AMOUNT / factor)} ${currency} can be charged`
  }
  return undefined
}

/**
 * An ISO 4217 amount in Stripe's units, exactly.
 * @throws RangeError for an amount Stripe cannot charge (see stripeAmountProblem)
 */
export function toStripeAmount (currency: string, amount: number): number {
  const problem = stripeAmountProblem(currency, amount)
  if (!Number.isSafeInteger(amount) || problem !== undefined) throw new RangeError(problem ?? `${amount} is not an integer amount`)
  return amount * (STRIPE_FACTOR[currency] ?? 1)
}

/**
 * A Stripe amount (from a webhook, a refund, a settlement file) in ISO 4217 minor units, exactly.
 * @throws RangeError for an amount that is not a whole ISO minor unit (a fractional króna)
 */
export function fromStripeAmount (currency: string, stripeAmount: number): number {
  const factor = STRIPE_FACTOR[currency] ?? 1
  if (!Number.isSafeInteger(stripeAmount) || stripeAmount % factor !== 0) {
    throw new RangeError(`Stripe amount ${stripeAmount} ${currency} is not a whole number of ISO minor units (a multiple of ${factor})`)
  }
  return stripeAmount / factor
}
