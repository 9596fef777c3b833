import SerializerSelector from '@fastify/fast-json-stringify-compiler'
import { build } from 'esbuild'
import fc from 'fast-check'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { isDeepStrictEqual } from 'node:util'
import t from 'tap'
import { recordSchemas, serializersModule, validatorsModule, writeCompiledFiles, type CompiledModule } from '../../scripts/compile-schemas.js'
import { sharedAjv, type Validator } from '../../src/lib/ajv.js'
import { schemaKey } from '../../src/lib/schema-key.js'

// The validators and serializers compiled at build time behave exactly as those Ajv and
// fast-json-stringify compile at runtime: same verdicts, same errors, same defaults and
// coercions applied, same JSON, on the same random inputs, for every schema the app makes.
const RUNS = 300
const recorded = await recordSchemas()
const dir = mkdtempSync(join(tmpdir(), 'paylith-compiled-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

/** Bundles a generated module and its compiled files (in compiled/ beside it) as the build does, and imports it; `chunk`: from chunks/ below them, as a chunk of the bundle is. */
async function load<T> (name: string, module: CompiledModule, { chunk = false, into = dir } = {}): Promise<T> {
  const outfile = join(into, chunk ? 'chunks' : '', `${name}.mjs`)
  await build({ stdin: { contents: module.contents, resolveDir: process.cwd(), loader: 'js' }, outfile, bundle: true, format: 'esm', platform: 'node', logLevel: 'error' })
  await writeCompiledFiles([module], into)
  return await import(pathToFileURL(outfile).href) as T
}

/** Random values shaped like a schema: its properties (each present or not) with any JSON, or any JSON. */
function inputsFor (schema: { properties?: Record<string, unknown> }): fc.Arbitrary<unknown> {
  const any = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.string({ maxLength: 12 }), fc.integer(), fc.constantFrom('EUR', 'pay_01JDQ3V0J6Q8ZC7W8E5T0R2N4M', '2026-11-28T00:00:00.000Z', 'pending', 'true', '10'))
  const keys = Object.keys(schema.properties ?? {})
  if (keys.length === 0) return any
  return fc.oneof({ weight: 4, arbitrary: fc.record(Object.fromEntries(keys.map((key) => [key, any])), { requiredKeys: [] }) }, { weight: 1, arbitrary: any })
}

t.test('every validator compiled at build time gives the runtime validator\'s verdict, errors and data', async (t) => {
  const { validatorOf } = await load<{ validatorOf: (mode: string, schema: object) => Validator }>('validators', validatorsModule(recorded.validators))
  for (const request of recorded.validators) if (request.kind === 'shared') { sharedAjv('strict', request.schemas); sharedAjv('coercing', request.schemas) }
  const requests = recorded.validators.filter((request) => request.kind === 'validator')
  t.ok(requests.length >= 10, `${requests.length} validators recorded`)
  for (const { mode, schema } of requests) {
    const compiled = validatorOf(mode, schema)
    const runtime = sharedAjv(mode).compile(schema)
    const details = fc.check(fc.property(inputsFor(schema as { properties?: Record<string, unknown> }), (input) => {
      const [a, b] = [structuredClone(input), structuredClone(input)]
      const verdict = compiled(a)
      return verdict === runtime(b) && isDeepStrictEqual(compiled.errors ?? null, runtime.errors ?? null) && isDeepStrictEqual(a, b)
    }), { numRuns: RUNS })
    t.equal(details.failed, false, fc.defaultReportMessage(details) ?? `${mode} ${JSON.stringify(schema).slice(0, 80)}`)
  }
})

t.test('every serializer compiled at build time writes the runtime serializer\'s JSON', async (t) => {
  const { buildLazySerializer } = await load<{ buildLazySerializer: () => (route: { schema: object }) => (data: unknown) => string }>('serializers', serializersModule(recorded.serializers))
  t.ok(recorded.serializers.length >= 10, `${recorded.serializers.length} serializers recorded`)
  const outcome = (serialize: (data: unknown) => string, data: unknown) => {
    try { return serialize(data) } catch (error) { return `threw ${(error as Error).message}` }
  }
  for (const { schema, externalSchemas, options } of recorded.serializers) {
    const compiled = buildLazySerializer()({ schema })
    const runtime = SerializerSelector()(externalSchemas, options)({ schema, method: 'GET', url: '/', httpStatus: '200' })
    const details = fc.check(fc.property(inputsFor(schema as { properties?: Record<string, unknown> }), (data) => outcome(compiled, data) === outcome(runtime, data)), { numRuns: RUNS })
    t.equal(details.failed, false, fc.defaultReportMessage(details) ?? JSON.stringify(schema).slice(0, 80))
  }
})

t.test('a schema the build did not see fails loudly, not silently', async (t) => {
  const { validatorOf } = await load<{ validatorOf: (mode: string, schema: object) => Validator }>('validators-unseen', validatorsModule(recorded.validators))
  t.throws(() => validatorOf('strict', { type: 'object', properties: { unseen: { type: 'string' } } }), /no validator was compiled at build time/)
})

t.test('a compiled validator or serializer is read the first time it is used, from lambda.mjs or from a chunk', async (t) => {
  const into = join(dir, 'first-use')
  const loaded = (key: string) => join(into, 'compiled', `${key}.cjs`) in createRequire(import.meta.url).cache
  const validators = validatorsModule(recorded.validators)
  const serializers = serializersModule(recorded.serializers)
  const { validatorOf } = await load<{ validatorOf: (mode: string, schema: object) => Validator }>('validators', validators, { into })
  const { buildLazySerializer } = await load<{ buildLazySerializer: () => (route: { schema: object }) => (data: unknown) => string }>('serializers', serializers, { into, chunk: true })
  const validation = recorded.validators.find((request) => request.kind === 'validator')
  const serialization = recorded.serializers[0]
  if (validation?.kind !== 'validator' || serialization === undefined) throw new Error('nothing recorded')
  const validate = validatorOf(validation.mode, validation.schema)
  const serialize = buildLazySerializer()({ schema: serialization.schema })
  t.notOk(loaded(schemaKey(validation.mode, validation.schema)), 'the validator is not read when it is made')
  t.notOk(loaded(schemaKey('serializer', serialization.schema)), 'nor the serializer')
  validate({})
  try { serialize({}) } catch {} // a response missing a required property is refused, as at runtime; only the read matters here
  t.ok(loaded(schemaKey(validation.mode, validation.schema)), 'the validator is read on its first use')
  t.ok(loaded(schemaKey('serializer', serialization.schema)), 'the serializer too, from a chunk\'s folder')
  t.equal(readdirSync(join(into, 'compiled')).filter((file) => file.endsWith('.cjs')).length, validators.sources.size + serializers.sources.size, 'one file per compiled schema')
})
