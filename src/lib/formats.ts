import { fullFormats } from 'ajv-formats/dist/formats.js'
import { CURRENCY_FORMAT, currencyFormat } from './currency-format.js'

/**
 * Every format a schema may name: ajv-formats' full set and ISO 4217 currency codes. Validators
 * compiled at build time refer to this object by name (see scripts/compile-schemas.ts).
 */
export const formats = { ...fullFormats, [CURRENCY_FORMAT]: currencyFormat }
