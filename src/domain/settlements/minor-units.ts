import { currencyExponent } from '../currencies.js'

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
