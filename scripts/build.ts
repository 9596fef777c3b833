import { build, type Plugin } from 'esbuild'
import { readdir, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { compiledSchemasPlugin } from './compile-schemas.js'

// The Lambda bundle: dist/lambda.mjs (minified ESM, runnable on Node 20 and 22) exporting
// `handler`, with everything the cold start needs in that one file. Modules loaded only by a
// dynamic import (the Stripe SDK, the Secrets Manager client) go to chunks beside it, so a
// function that never uses them never reads or parses them.
// Validators and serializers are compiled here, not at runtime (scripts/compile-schemas.ts),
// each into a file of its own in dist/compiled/, read the first time it is used.
const outdir = 'dist'
await rm(outdir, { recursive: true, force: true })
const schemas = await compiledSchemasPlugin()
// semver only where Fastify checks plugin versions (scripts/semver-stub.cjs says why); the X-Ray SDK keeps the real one.
const pluginVersionsChecked: Plugin = {
  name: 'plugin-versions-checked',
  setup (build) {
    build.onResolve({ filter: /^semver$/ }, ({ importer }) => /[\\/]fastify[\\/]lib[\\/]plugin-utils\.js$/.test(importer) ? { path: join(process.cwd(), 'scripts', 'semver-stub.cjs') } : undefined)
  }
}
const result = await build({
  entryPoints: { lambda: 'src/lambda.ts' },
  outdir,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  minify: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  mainFields: ['module', 'main'],
  alias: { yaml: './scripts/yaml-stub.cjs', 'thread-stream': './scripts/thread-stream-stub.cjs', '@fastify/ajv-compiler': './scripts/compilers-stub.cjs', '@fastify/fast-json-stringify-compiler': './scripts/compilers-stub.cjs' },
  legalComments: 'none',
  // `npm run build -- --sourcemap`: .map files beside each output, for reading a CPU profile of the bundle by source file.
  sourcemap: process.argv.includes('--sourcemap'),
  metafile: true,
  plugins: [schemas.plugin, pluginVersionsChecked],
  // Some CommonJS dependencies call require() for Node built-ins; ESM has no require of its own.
  banner: { js: "import { createRequire as __paylithCreateRequire } from 'node:module'; const require = __paylithCreateRequire(import.meta.url);" },
  logLevel: 'warning'
})

await schemas.writeFiles(outdir)
// `npm run build -- --metafile <file>`: what is in each output, by input (esbuild's metafile), for looking into the cold path.
const metafileArg = process.argv.indexOf('--metafile')
if (metafileArg !== -1) await writeFile(process.argv[metafileArg + 1] ?? 'dist-metafile.json', JSON.stringify(result.metafile))

const main = await stat(join(outdir, 'lambda.mjs'))
const chunks = await readdir(join(outdir, 'chunks')).catch(() => [] as string[])
let chunkBytes = 0
for (const file of chunks) chunkBytes += (await stat(join(outdir, 'chunks', file))).size
console.log(`built ${outdir}/lambda.mjs: ${(main.size / 1024).toFixed(1)} KiB (${Object.keys(result.metafile.inputs).length} modules); chunks: ${chunks.length} files, ${(chunkBytes / 1024).toFixed(1)} KiB; compiled at build time: ${schemas.validators} validators, ${schemas.serializers} serializers (dist/compiled/, each read on first use)`)
