import { Ajv, type ErrorObject, type Options } from 'ajv'
import addFormats from 'ajv-formats'
import { CURRENCY_FORMAT, currencyFormat } from './currency-format.js'

/** How values are read: `strict` as they are (JSON bodies, messages); `coercing` from text (query, params, headers). */
export type AjvMode = 'strict' | 'coercing'

/**
 * One Ajv per mode for the whole process: every new Ajv would compile its meta-schema again
 * (most of the cold start, once). Our schemas are static and tested, so they are not checked
 * against the meta-schema at startup either. `allErrors`: every failing field is reported.
 */
const instances = new Map<AjvMode, { ajv: Ajv, ids: Set<string> }>()

/** The options of the process's Ajv for a mode (the build compiles with the same ones). */
export function ajvOptions (mode: AjvMode): Options {
  return { allErrors: true, removeAdditional: false, useDefaults: true, strict: false, validateSchema: false, coerceTypes: mode === 'coercing' ? 'array' : false }
}

/** A new Ajv with these options and every format paylith's schemas name. */
export function newAjv (options: Options): Ajv {
  const ajv = new Ajv(options)
  addFormats.default(ajv)
  ajv.addFormat(CURRENCY_FORMAT, currencyFormat)
  return ajv
}

/** The process's Ajv for a mode, with `schemas` (shared, by `$id`) added once, not compiled. */
export function sharedAjv (mode: AjvMode, schemas: Record<string, unknown> = {}): Ajv {
  let instance = instances.get(mode)
  if (instance === undefined) {
    instance = { ajv: newAjv(ajvOptions(mode)), ids: new Set() }
    instances.set(mode, instance)
  }
  // Added, not compiled: Ajv compiles a shared schema when a schema that refers to it compiles.
  for (const schema of Object.values(schemas) as Array<{ $id?: string }>) {
    if (schema.$id !== undefined && instance.ids.has(schema.$id)) continue
    instance.ajv.addSchema(schema)
    if (schema.$id !== undefined) instance.ids.add(schema.$id)
  }
  return instance.ajv
}

/** A validator: true or false, with `errors` set after a false. */
export interface Validator {
  (data: unknown): boolean
  errors?: ErrorObject[] | null
}

/**
 * A validator compiled on its first use rather than when it is made: compiling every schema at
 * startup cost tens of milliseconds of each Lambda cold start, and most invocations need one.
 */
export function lazyValidator (compile: () => Validator): Validator {
  let validate: Validator | undefined
  const validator: Validator = (data) => {
    validate ??= compile()
    const valid = validate(data)
    validator.errors = validate.errors
    return valid
  }
  return validator
}
