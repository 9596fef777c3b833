import { build } from 'esbuild'
import { stat } from 'node:fs/promises'

// One minified ESM file for Lambda (nodejs22.x, runnable on Node 20 too), exporting `handler`.
const outfile = 'dist/lambda.mjs'
const result = await build({
  entryPoints: ['src/lambda.ts'],
  outfile,
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  mainFields: ['module', 'main'],
  sourcemap: false,
  legalComments: 'none',
  metafile: true,
  // Some CommonJS dependencies call require() for Node built-ins; ESM has no require of its own.
  banner: { js: "import { createRequire as __paylithCreateRequire } from 'node:module'; const require = __paylithCreateRequire(import.meta.url);" },
  logLevel: 'warning'
})

const { size } = await stat(outfile)
const inputs = Object.keys(result.metafile.inputs).length
console.log(`built ${outfile}: ${(size / 1024).toFixed(1)} KiB from ${inputs} modules`)
