import type { Ajv } from 'ajv'
import type { FastifyServerOptions } from 'fastify'
import { addSharedSchemas, validatorOf } from '../lib/validators.js'

type ValidatorCompilerBuilder = NonNullable<NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildValidator']>

/**
 * Request validation with every failing field reported (allErrors). Query strings, params and
 * headers are text, so they are coerced to the declared types; JSON bodies are not: a payment
 * amount sent as "100" is an error, not 100. Given to Fastify as its validator builder so that
 * encapsulated plugins with their own shared schemas get the same rules.
 */
export const buildValidator: ValidatorCompilerBuilder = (externalSchemas) => {
  addSharedSchemas(externalSchemas as Record<string, unknown>)
  // Fastify only calls a validator and reads its `errors`, never Ajv's other properties.
  return ({ schema, httpPart }) => validatorOf(httpPart === 'body' ? 'strict' : 'coercing', schema as object) as unknown as ReturnType<Ajv['compile']>
}
