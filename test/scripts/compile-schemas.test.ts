import SerializerSelector from '@fastify/fast-json-stringify-compiler'
import { build } from 'esbuild'
import fc from 'fast-check'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { isDeepStrictEqual } from 'node:util'
import t from 'tap'
import { recordSchemas, serializersModule, validatorsModule } from '../../scripts/compile-schemas.js'
import { sharedAjv, type Validator } from '../../src/lib/ajv.js'

// The validators and serializers compiled at build time behave exactly as those Ajv and
// fast-json-stringify compile at runtime: same verdicts, same errors, same defaults and
// coercions applied, same JSON, on the same random inputs, for every schema the app makes.
const RUNS = 300
const recorded = await recordSchemas()
const dir = mkdtempSync(join(tmpdir(), 'paylith-compiled-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

/** Bundles a generated module as the build does and imports it. */
async function load<T> (name: string, contents: string): Promise<T> {
  const outfile = join(dir, `${name}.mjs`)
  await build({ stdin: { contents, resolveDir: process.cwd(), loader: 'js' }, outfile, bundle: true, format: 'esm', platform: 'node', logLevel: 'error', banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" } })
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
  const { validatorOf } = await load<{ validatorOf: (mode: string, schema: object) => Validator }>('validators', validatorsModule(recorded.validators).contents)
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
  const { buildLazySerializer } = await load<{ buildLazySerializer: () => (route: { schema: object }) => (data: unknown) => string }>('serializers', serializersModule(recorded.serializers).contents)
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
  const { validatorOf } = await load<{ validatorOf: (mode: string, schema: object) => Validator }>('validators-unseen', validatorsModule(recorded.validators).contents)
  t.throws(() => validatorOf('strict', { type: 'object', properties: { unseen: { type: 'string' } } }), /no validator was compiled at build time/)
})
