/** ISO 4217 codes of currencies in use, as the runtime's ICU data knows them. */
const CURRENCIES: ReadonlySet<string> = new Set(Intl.supportedValuesOf('currency'))

/** Whether `code` is a real, current ISO 4217 currency code (`EUR`, not `ABC`). */
export function isCurrencyCode (code: string): boolean {
  return CURRENCIES.has(code)
}
