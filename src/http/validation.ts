import { Ajv, type Options } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifyServerOptions } from 'fastify'
import { isCurrencyCode } from '../domain/currencies.js'

/** The JSON Schema `format` for ISO 4217 currency codes in use. */
export const CURRENCY_FORMAT = 'iso4217'

type ValidatorCompilerBuilder = NonNullable<NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildValidator']>

/**
 * One Ajv per coercion mode for the whole process: Fastify asks for a validator builder once
 * per plugin context with schemas of its own, and every new Ajv would compile its meta-schema
 * again (most of the cold start, before this). Our schemas are static and tested, so they are
 * not validated against the meta-schema at startup either.
 */
const instances = new Map<string, { ajv: Ajv, ids: Set<string> }>()

function sharedAjv (options: Options & { coerceTypes: Options['coerceTypes'] }, schemas: Record<string, unknown>): Ajv {
  const key = String(options.coerceTypes)
  let instance = instances.get(key)
  if (instance === undefined) {
    const ajv = new Ajv({ allErrors: true, removeAdditional: false, useDefaults: true, strict: false, validateSchema: false, ...options })
    addFormats.default(ajv)
    ajv.addFormat(CURRENCY_FORMAT, { type: 'string', validate: isCurrencyCode })
    instance = { ajv, ids: new Set() }
    instances.set(key, instance)
  }
  // Added, not compiled: Ajv compiles a shared schema when a route that refers to it compiles.
  for (const schema of Object.values(schemas) as Array<{ $id?: string }>) {
    if (schema.$id !== undefined && instance.ids.has(schema.$id)) continue
    instance.ajv.addSchema(schema)
    if (schema.$id !== undefined) instance.ids.add(schema.$id)
  }
  return instance.ajv
}

/**
 * Request validation with every failing field reported (allErrors). Query strings, params and
 * headers are text, so they are coerced to the declared types; JSON bodies are not: a payment
 * amount sent as "100" is an error, not 100. Given to Fastify as its validator builder so that
 * encapsulated plugins with their own shared schemas get the same rules.
 */
export const buildValidator: ValidatorCompilerBuilder = (externalSchemas) => {
  const schemas = externalSchemas as Record<string, unknown>
  const coercing = sharedAjv({ coerceTypes: 'array' }, schemas)
  const strict = sharedAjv({ coerceTypes: false }, schemas)
  // Fastify only calls a validator and reads its `errors`, never Ajv's other properties.
  return ({ schema, httpPart }) => lazy(() => (httpPart === 'body' ? strict : coercing).compile(schema)) as unknown as ReturnType<Ajv['compile']>
}

/** A validator as Fastify calls it: true or false, with `errors` set after a false. */
interface Validator {
  (data: unknown): boolean
  errors?: unknown
}

/**
 * Compiles a route's validator on the route's first request rather than at startup, where
 * compiling every route's schemas cost tens of milliseconds of each Lambda cold start.
 */
function lazy (compile: () => Validator): Validator {
  let validate: Validator | undefined
  const validator: Validator = (data) => {
    validate ??= compile()
    const valid = validate(data)
    validator.errors = validate.errors
    return valid
  }
  return validator
}
