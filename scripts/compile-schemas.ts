import SerializerSelector from '@fastify/fast-json-stringify-compiler'
import { _ } from 'ajv'
import standaloneCode from 'ajv/dist/standalone/index.js'
import type { Plugin } from 'esbuild'
import { fileURLToPath } from 'node:url'
import { recordSerializers, type SerializerRequest } from '../src/http/lazy-compilers.js'
import { ajvOptions, newAjv, type AjvMode } from '../src/lib/ajv.js'
import { schemaKey } from '../src/lib/schema-key.js'
import { recordValidators, type ValidatorRequest } from '../src/lib/validators.js'

// Validators and serializers compiled at build time. The build boots the app and the workers as
// Lambda does (src/service.ts, no network), records every schema a validator or a serializer is
// made for (so a route added later is covered without a list to keep), compiles each with the
// same Ajv options and the same fast-json-stringify compiler the process would use, into
// standalone code, and gives esbuild modules that replace src/lib/validators.ts and
// src/http/lazy-compilers.ts in the bundle: they look a schema up by schemaKey() and load
// neither Ajv nor fast-json-stringify, and compile nothing.

const root = fileURLToPath(new URL('..', import.meta.url))
const source = (path: string): string => fileURLToPath(new URL(`../src/${path}`, import.meta.url))

/** An environment Lambda could give: what createService needs to build the app; nothing is called. */
const BUILD_ENV: NodeJS.ProcessEnv = {
  AWS_LAMBDA_FUNCTION_NAME: 'paylith-build',
  AWS_REGION: 'us-east-1',
  TABLE_NAME: 'paylith-build',
  WORK_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/paylith-work',
  DEAD_LETTER_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/paylith-work-dlq',
  SETTLEMENT_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/paylith-settlements',
  API_KEYS: `${'0'.repeat(64)}=admin`,
  PAYMENT_PROVIDER: 'sandbox',
  LOG_LEVEL: 'silent'
}

/** Every validator and serializer request the app and the workers make at startup. */
export async function recordSchemas (): Promise<{ validators: ValidatorRequest[], serializers: SerializerRequest[], openapi: unknown }> {
  const validators: ValidatorRequest[] = []
  const serializers: SerializerRequest[] = []
  // The SDK clients are built, never called: their Node version notice is noise here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
  recordValidators((request) => validators.push(request))
  recordSerializers((request) => serializers.push(request))
  let openapi: unknown
  try {
    // Imported only now, so that the validators made at import (work-queue commands) are recorded.
    const { loadConfig } = await import('../src/config/load.js')
    const { createService } = await import('../src/service.js')
    const { app } = createService(loadConfig(BUILD_ENV))
    await app.ready()
    openapi = app.swagger()
    await app.close()
  } finally {
    recordValidators(() => {})
    recordSerializers(() => {})
  }
  return { validators, serializers, openapi }
}

/** A CommonJS module's code as an expression that evaluates it once and gives its exports. */
const commonJs = (code: string): string => `() => { const module = { exports: {} }; const exports = module.exports; ${code}\n; return module.exports }`

/** The module that replaces src/lib/validators.ts: every recorded validator, compiled. */
export function validatorsModule (requests: ValidatorRequest[]): { contents: string, count: number } {
  const formats = _`require(${source('lib/formats.ts')}).formats`
  const instances = new Map<AjvMode, ReturnType<typeof newAjv>>()
  const ajvFor = (mode: AjvMode) => {
    let ajv = instances.get(mode)
    if (ajv === undefined) {
      ajv = newAjv({ ...ajvOptions(mode), code: { source: true, formats } })
      instances.set(mode, ajv)
    }
    return ajv
  }
  const ids = new Set<string>()
  const compiled = new Map<string, string>()
  for (const request of requests) {
    if (request.kind === 'shared') {
      for (const schema of Object.values(request.schemas) as Array<{ $id?: string }>) {
        if (schema.$id === undefined || ids.has(schema.$id)) continue
        ids.add(schema.$id)
        ajvFor('strict').addSchema(schema)
        ajvFor('coercing').addSchema(schema)
      }
      continue
    }
    const key = schemaKey(request.mode, request.schema)
    if (compiled.has(key)) continue
    const ajv = ajvFor(request.mode)
    compiled.set(key, commonJs(standaloneCode.default(ajv, ajv.compile(request.schema))))
  }
  const contents = `import { schemaKey } from ${JSON.stringify(source('lib/schema-key.ts'))}
const compiled = {
${[...compiled].map(([key, code]) => `${JSON.stringify(key)}: ${code}`).join(',\n')}
}
const made = new Map()
export function recordValidators () {}
export function addSharedSchemas () {}
export function validatorOf (mode, schema) {
  const key = schemaKey(mode, schema)
  const make = compiled[key]
  if (make === undefined) throw new Error('paylith: no validator was compiled at build time for this ' + mode + ' schema (' + key + '); npm run build compiles every schema the app makes at startup')
  if (!made.has(key)) made.set(key, make().default)
  return made.get(key)
}
`
  return { contents, count: compiled.size }
}

/** The module that replaces src/http/lazy-compilers.ts: every recorded serializer, compiled. */
export function serializersModule (requests: SerializerRequest[]): { contents: string, count: number } {
  const compiled = new Map<string, string>()
  for (const { schema, externalSchemas, options } of requests) {
    const key = schemaKey('serializer', schema)
    if (compiled.has(key)) continue
    const compile = SerializerSelector()(externalSchemas, { ...options, mode: 'standalone', inlineValidators: true })
    compiled.set(key, commonJs(compile({ schema, method: '', url: '', httpStatus: '' }) as unknown as string))
  }
  const contents = `import { schemaKey } from ${JSON.stringify(source('lib/schema-key.ts'))}
const compiled = {
${[...compiled].map(([key, code]) => `${JSON.stringify(key)}: ${code}`).join(',\n')}
}
const made = new Map()
export function recordSerializers () {}
export const buildLazySerializer = () => ({ schema }) => {
  const key = schemaKey('serializer', schema)
  const make = compiled[key]
  if (make === undefined) throw new Error('paylith: no serializer was compiled at build time for this response schema (' + key + '); npm run build compiles every schema the app makes at startup')
  if (!made.has(key)) made.set(key, make())
  return made.get(key)
}
`
  return { contents, count: compiled.size }
}

/** The module that replaces src/http/openapi.ts: no @fastify/swagger; the document built here, in a chunk loaded on first request. */
const OPENAPI_MODULE = `export function openapi () {}
export async function openapiDocument () { return (await import('paylith:openapi.json')).default }
`

/** The esbuild plugin that puts the compiled modules in place of the runtime compilers, and the OpenAPI document in place of its generator. */
export async function compiledSchemasPlugin (): Promise<{ plugin: Plugin, validators: number, serializers: number }> {
  const recorded = await recordSchemas()
  const validators = validatorsModule(recorded.validators)
  const serializers = serializersModule(recorded.serializers)
  const replacements = new Map([[source('lib/validators.ts'), validators.contents], [source('http/lazy-compilers.ts'), serializers.contents], [source('http/openapi.ts'), OPENAPI_MODULE]])
  const document = JSON.stringify(recorded.openapi)
  const plugin: Plugin = {
    name: 'compiled-schemas',
    setup (build) {
      build.onLoad({ filter: /(validators|lazy-compilers|openapi)\.ts$/ }, ({ path }) => {
        const contents = replacements.get(path)
        return contents === undefined ? undefined : { contents, loader: 'js', resolveDir: root }
      })
      build.onResolve({ filter: /^paylith:openapi\.json$/ }, () => ({ path: 'openapi.json', namespace: 'paylith-openapi' }))
      build.onLoad({ filter: /.*/, namespace: 'paylith-openapi' }, () => ({ contents: document, loader: 'json' }))
    }
  }
  return { plugin, validators: validators.count, serializers: serializers.count }
}
