import { fullFormats } from 'ajv-formats/dist/formats.js'
import { isCurrencyCode } from '../domain/currencies.js'

/** The JSON Schema `format` for ISO 4217 currency codes in use. */
export const CURRENCY_FORMAT = 'iso4217'

/** The currency format's definition, as Ajv takes it. */
export const currencyFormat = { type: 'string', validate: isCurrencyCode } as const

/**
 * Every format a schema may name: ajv-formats' full set and ISO 4217 currency codes. Validators
 * compiled at build time refer to this object by name (see scripts/compile-schemas.ts).
 */
export const formats = { ...fullFormats, [CURRENCY_FORMAT]: currencyFormat }
