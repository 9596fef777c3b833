import SerializerSelector from '@fastify/fast-json-stringify-compiler'
import { _ } from 'ajv'
import standaloneCode from 'ajv/dist/standalone/index.js'
import { build, type Plugin } from 'esbuild'
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
// neither Ajv nor fast-json-stringify, and compile nothing. Each compiled validator and
// serializer is a small CommonJS file of its own in dist/compiled/, required (synchronously,
// as Fastify calls them) the first time it is used: an invocation needs two or three of them,
// so the others are never read.

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
    // Imported only now, so that the validators made at import (work-queue commands) are recorded;
    // the workers' modules too (src/workers/modules.ts, all of them), which the service imports only on a worker's first event.
    await import('../src/workers/modules.js')
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

/** What a generated module needs: its code, how many schemas it compiled, and each one's CommonJS source by file name. */
export interface CompiledModule {
  contents: string
  count: number
  /** `<schemaKey>` → the standalone CommonJS code compiled for it (bundled into dist/compiled/<schemaKey>.cjs). */
  sources: Map<string, string>
}

/**
 * The start of a generated module: `load(key)` requires dist/compiled/<key>.cjs, beside
 * lambda.mjs whether this code lands in lambda.mjs or in a chunk of dist/chunks/.
 */
const LOADER = `import { createRequire } from 'node:module'
import { schemaKey } from ${JSON.stringify(source('lib/schema-key.ts'))}
const here = new URL('.', import.meta.url)
const load = (key) => createRequire(new URL(here.pathname.endsWith('/chunks/') ? '../compiled/' : './compiled/', here))('./' + key + '.cjs')
`

/** The module that replaces src/lib/validators.ts: every recorded validator, compiled, each loaded on its first use. */
export function validatorsModule (requests: ValidatorRequest[]): CompiledModule {
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
  const sources = new Map<string, string>()
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
    if (sources.has(key)) continue
    const ajv = ajvFor(request.mode)
    sources.set(key, standaloneCode.default(ajv, ajv.compile(request.schema)))
  }
  const contents = `${LOADER}const compiled = new Set(${JSON.stringify([...sources.keys()])})
export function recordValidators () {}
export function addSharedSchemas () {}
export function validatorOf (mode, schema) {
  const key = schemaKey(mode, schema)
  if (!compiled.has(key)) throw new Error('paylith: no validator was compiled at build time for this ' + mode + ' schema (' + key + '); npm run build compiles every schema the app makes at startup')
  let validate
  const validator = (data) => {
    validate ??= load(key).default
    const valid = validate(data)
    validator.errors = validate.errors
    return valid
  }
  return validator
}
`
  return { contents, count: sources.size, sources }
}

/** The module that replaces src/http/lazy-compilers.ts: every recorded serializer, compiled, each loaded on its first use. */
export function serializersModule (requests: SerializerRequest[]): CompiledModule {
  const sources = new Map<string, string>()
  for (const { schema, externalSchemas, options } of requests) {
    const key = schemaKey('serializer', schema)
    if (sources.has(key)) continue
    const compile = SerializerSelector()(externalSchemas, { ...options, mode: 'standalone', inlineValidators: true })
    sources.set(key, compile({ schema, method: '', url: '', httpStatus: '' }) as unknown as string)
  }
  const contents = `${LOADER}const compiled = new Set(${JSON.stringify([...sources.keys()])})
export function recordSerializers () {}
export const buildLazySerializer = () => ({ schema }) => {
  const key = schemaKey('serializer', schema)
  if (!compiled.has(key)) throw new Error('paylith: no serializer was compiled at build time for this response schema (' + key + '); npm run build compiles every schema the app makes at startup')
  let serialize
  return (data) => (serialize ??= load(key))(data)
}
`
  return { contents, count: sources.size, sources }
}

/**
 * Bundles each compiled validator and serializer into `<outdir>/compiled/<schemaKey>.cjs`. What
 * they require (Ajv's runtime helpers, the formats, fast-json-stringify's Serializer) is bundled
 * once into `compiled/shared/`, so a second schema loaded reuses what the first one loaded.
 */
export async function writeCompiledFiles (modules: CompiledModule[], outdir: string): Promise<void> {
  const sources = new Map(modules.flatMap((module) => [...module.sources]))
  const required = new Set([...sources.values()].flatMap((code) => [...code.matchAll(/require\((["'])([^"']+)\1\)/g)].map((match) => match[2] as string)))
  const shared = new Map([...required].map((specifier) => [specifier, `shared/${specifier.replace(/^.*[\\/]src[\\/]/, 'paylith-').replace(/\.ts$/, '').replace(/[^\w-]+/g, '-')}`]))
  await build({
    entryPoints: [
      ...[...sources.keys()].map((key) => ({ in: `paylith-compiled:${key}`, out: key })),
      ...[...shared].map(([specifier, out]) => ({ in: specifier, out }))
    ],
    outdir: `${outdir}/compiled`,
    outExtension: { '.js': '.cjs' },
    bundle: true,
    // Names kept: an error thrown inside (a value a serializer cannot write) says what the runtime compiler's code says.
    minifyWhitespace: true,
    minifySyntax: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    legalComments: 'none',
    logLevel: 'warning',
    plugins: [{
      name: 'compiled-sources',
      setup (build) {
        build.onResolve({ filter: /^paylith-compiled:/ }, ({ path }) => ({ path: path.slice('paylith-compiled:'.length), namespace: 'paylith-compiled' }))
        build.onResolve({ filter: /.*/, namespace: 'paylith-compiled' }, ({ path }) => shared.has(path) ? { path: `./${shared.get(path) ?? ''}.cjs`, external: true } : undefined)
        build.onLoad({ filter: /.*/, namespace: 'paylith-compiled' }, ({ path }) => ({ contents: sources.get(path), loader: 'js', resolveDir: root }))
      }
    }]
  })
}

/** The module that replaces src/http/openapi.ts: no @fastify/swagger; the document built here, in a chunk loaded on first request. */
const OPENAPI_MODULE = `export function openapi () {}
export async function openapiDocument () { return (await import('paylith:openapi.json')).default }
`

/** The esbuild plugin that puts the compiled modules in place of the runtime compilers, and the OpenAPI document in place of its generator. */
export async function compiledSchemasPlugin (): Promise<{ plugin: Plugin, validators: number, serializers: number, writeFiles: (outdir: string) => Promise<void> }> {
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
  return { plugin, validators: validators.count, serializers: serializers.count, writeFiles: async (outdir) => { await writeCompiledFiles([validators, serializers], outdir) } }
}
