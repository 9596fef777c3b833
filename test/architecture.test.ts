import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import t from 'tap'

// The layout is the architecture (README: Architecture); these are its rules, checked on the
// imports themselves so that a new file cannot quietly break them.

const SRC = join(import.meta.dirname, '..', 'src')

function sourceFiles (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    return entry.isDirectory() ? sourceFiles(path) : entry.name.endsWith('.ts') ? [path] : []
  })
}

/** Every module a file imports (statically or dynamically), as written, and resolved to a src-relative path when it is ours. */
function importsOf (file: string): string[] {
  const text = readFileSync(file, 'utf8')
  return [...text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map(([, spec]) => {
    if (spec === undefined || !spec.startsWith('.')) return spec ?? ''
    return relative(SRC, join(file, '..', spec))
  })
}

const files = sourceFiles(SRC).map((file) => ({ path: relative(SRC, file), imports: importsOf(file) }))
const under = (folder: string) => files.filter((file) => file.path.startsWith(`${folder}/`))

t.test('the rules are checked on real files', async (t) => {
  t.ok(files.length > 50, `${files.length} files read`)
  t.ok(files.some((file) => file.imports.includes('fastify')), 'the app imports fastify, so the scan sees package imports')
  t.ok(under('routes').some((file) => file.imports.some((spec) => spec.startsWith('http/'))), 'routes import src/http, so the scan resolves relative imports')
})

t.test('below the HTTP layer nothing imports Fastify, src/http, src/routes or the app', async (t) => {
  for (const folder of ['domain', 'store', 'queue', 'use-cases', 'workers', 'providers', 'lib', 'aws', 'observability']) {
    for (const file of under(folder)) {
      const http = file.imports.filter((spec) => spec === 'fastify' || spec.startsWith('@fastify/') || spec.startsWith('http/') || spec.startsWith('routes/') || spec === 'app.js')
      t.same(http, [], `${file.path} imports nothing of the HTTP layer`)
    }
  }
})

t.test('the domain does no I/O: no AWS SDK, no store, no queue, no workers', async (t) => {
  for (const file of [...under('domain'), ...under('use-cases'), ...under('lib')]) {
    const io = file.imports.filter((spec) => spec.startsWith('@aws-sdk/') || (file.path.startsWith('domain/') && /^(store|queue|workers|aws|local)\//.test(spec)))
    t.same(io, [], `${file.path} does no I/O of its own`)
  }
})

t.test('production code never imports the local runtime', async (t) => {
  for (const file of files.filter((f) => !f.path.startsWith('local/') && f.path !== 'server.ts')) {
    t.same(file.imports.filter((spec) => spec.startsWith('local/')), [], `${file.path} does not import src/local`)
  }
})
