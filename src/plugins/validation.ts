import { Ajv, type Options } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifyServerOptions } from 'fastify'
import { isCurrencyCode } from '../domain/currencies.js'

/** The JSON Schema `format` for ISO 4217 currency codes in use. */
export const CURRENCY_FORMAT = 'iso4217'

type ValidatorCompilerBuilder = NonNullable<NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildValidator']>

function createAjv (options: Options, schemas: Record<string, unknown>): Ajv {
  const ajv = new Ajv({ allErrors: true, removeAdditional: false, useDefaults: true, strict: false, ...options })
  addFormats.default(ajv)
  ajv.addFormat(CURRENCY_FORMAT, { type: 'string', validate: isCurrencyCode })
  for (const schema of Object.values(schemas)) ajv.addSchema(schema as object)
  return ajv
}

/**
 * Request validation with every failing field reported (allErrors). Query strings, params and
 * headers are text, so they are coerced to the declared types; JSON bodies are not: a payment
 * amount sent as "100" is an error, not 100. Given to Fastify as its validator builder so that
 * encapsulated plugins with their own shared schemas get the same rules.
 */
export const buildValidator: ValidatorCompilerBuilder = (externalSchemas) => {
  const schemas = externalSchemas as Record<string, unknown>
  const coercing = createAjv({ coerceTypes: 'array' }, schemas)
  const strict = createAjv({ coerceTypes: false }, schemas)
  return ({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema)
}
