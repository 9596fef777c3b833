import { lazyValidator, sharedAjv, type AjvMode, type Validator } from './ajv.js'

// Where every JSON Schema validator of the process is made: route parts and work-queue
// commands. Under tsx (tests, the local server) Ajv compiles each on its first use; the Lambda
// bundle replaces this module with the same validators compiled at build time into standalone
// code (scripts/compile-schemas.ts), so neither Ajv nor a compile is on the cold path.

/** What the build records: each schema a validator is made for, in its mode. */
export type ValidatorRequest = { kind: 'validator', mode: AjvMode, schema: object } | { kind: 'shared', schemas: Record<string, unknown> }

let recorder: ((request: ValidatorRequest) => void) | undefined

/** Calls `listener` with every validator made and every shared schema added from now on (the build's record). */
export function recordValidators (listener: (request: ValidatorRequest) => void): void {
  recorder = listener
}

/** Adds schemas other schemas refer to by `$id`, in both modes. */
export function addSharedSchemas (schemas: Record<string, unknown>): void {
  recorder?.({ kind: 'shared', schemas })
  sharedAjv('coercing', schemas)
  sharedAjv('strict', schemas)
}

/** The validator of `schema` in `mode`, compiled on its first use. */
export function validatorOf (mode: AjvMode, schema: object): Validator {
  recorder?.({ kind: 'validator', mode, schema })
  return lazyValidator(() => sharedAjv(mode).compile(schema))
}
