/**
 * ISO 4217 minor-unit exponents that are not 2 (list one of the standard), for the currencies
 * isCurrencyCode accepts. Kept beside the settlement reader: a provider's own conversions (for
 * example Stripe's special cases for charges) are a different rule, not this one.
 */
const EXPONENTS: ReadonlyMap<string, number> = new Map([
  ...['BIF', 'CLP', 'DJF', 'GNF', 'ISK', 'JPY', 'KMF', 'KRW', 'PYG', 'RWF', 'UGX', 'VND', 'VUV', 'XAF', 'XOF', 'XPF'].map((code) => [code, 0] as const),
  ...['BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND'].map((code) => [code, 3] as const)
])

/** The ISO 4217 exponent of a currency (upper-case code): 0 for JPY, 3 for KWD, 2 for most. */
export function currencyExponent (currency: string): number {
  return EXPONENTS.get(currency) ?? 2
}

const DECIMAL = /^(-?)(\d{1,15})(?:\.(\d+))?$/

/**
 * A decimal amount in major units (`"10.50"`, `"-3"`, `"1000"` for JPY) as integer minor units,
 * exactly, without floating point; undefined when it is not a decimal or has more fraction
 * digits than the currency has (`"10.005"` EUR), or is too large to be exact.
 */
export function toMinorUnits (text: string, currency: string): number | undefined {
  const match = DECIMAL.exec(text.trim())
  if (match === null) return undefined
  const [, sign = '', whole = '', fraction = ''] = match
  const exponent = currencyExponent(currency)
  const significant = fraction.replace(/0+$/, '')
  if (significant.length > exponent) return undefined
  const minor = BigInt(`${whole}${significant.padEnd(exponent, '0')}`) * (sign === '-' ? -1n : 1n)
  if (minor > BigInt(Number.MAX_SAFE_INTEGER) || minor < -BigInt(Number.MAX_SAFE_INTEGER)) return undefined
  return Number(minor)
}
