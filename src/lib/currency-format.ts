import { isCurrencyCode } from '../domain/currencies.js'

// Apart from formats.ts (ajv-formats' full set), which only validators need: a schema naming the
// format does not load every other format's definition with it.

/** The JSON Schema `format` for ISO 4217 currency codes in use. */
export const CURRENCY_FORMAT = 'iso4217'

/** The currency format's definition, as Ajv takes it. */
export const currencyFormat = { type: 'string', validate: isCurrencyCode } as const
