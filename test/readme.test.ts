import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cp, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

// Every ```sh block of the README marked `<!-- offline -->` (on the line before it) runs as
// written, in order, in a fresh copy of the project (node_modules linked, as after `npm ci`),
// with no AWS settings in the environment. Long-running ones (npm start, npm test) and those
// that need an AWS account are not marked.

const root = fileURLToPath(new URL('..', import.meta.url))
/** What a fresh clone does not have: build output, local state, and what `npm ci` makes. */
const NOT_IN_A_CLONE = new Set(['.git', 'node_modules', 'dist', 'cdk.out', 'coverage', '.tap', 'dynamodb-local-metadata.json'])
const SNIPPET_TIMEOUT_MS = 90_000

/** The README's shell snippets marked to run offline, in order. */
function offlineSnippets (readme: string): string[] {
  return [...readme.matchAll(/^<!-- offline -->\n```sh\n([\s\S]*?)^```$/gm)].map((match) => match[1] ?? '')
}

async function freshCopy (): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'paylith-readme-'))
  for (const entry of await readdir(root)) {
    if (!NOT_IN_A_CLONE.has(entry)) await cp(join(root, entry), join(dir, entry), { recursive: true })
  }
  await symlink(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir')
  return dir
}

async function run (snippet: string, cwd: string): Promise<{ code: number, stdout: string, stderr: string }> {
  // Only what a shell on a developer's machine has: no AWS endpoint, region or credentials.
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), LANG: 'C.UTF-8' }
  return await new Promise((resolve) => {
    execFile('bash', ['-e', '-c', snippet], { cwd, env, timeout: SNIPPET_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr })
    })
  })
}

const readme = await readFile(join(root, 'README.md'), 'utf8')
const snippets = offlineSnippets(readme)

t.test('the README marks its offline snippets: the key, the synth and the bundle check', async (t) => {
  t.equal(snippets.length, 3)
  t.match(snippets, [/openssl rand/, /npm run synth/, /node -e .*dist\/lambda\.mjs/])
})

t.test('each offline snippet of the README runs as written', async (t) => {
  const dir = await freshCopy()
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  for (const snippet of snippets) {
    const result = await run(snippet, dir)
    t.equal(result.code, 0, snippet.split('\n')[0] ?? '', result.code === 0 ? {} : { stderr: result.stderr.slice(-2000) })
    if (snippet.includes('openssl rand')) {
      const key = /^key: (\S+)$/m.exec(result.stdout)?.[1] ?? ''
      t.match(key, /^plk_[\w-]{32}$/, 'a key')
      t.match(result.stdout, `API_KEYS=${createHash('sha256').update(key).digest('hex')}=payments:read|payments:write`, 'and its entry, the SHA-256 of the key')
    }
    if (snippet.includes('node -e')) t.match(result.stdout, /warmed: true/, 'the bundle answers the warm-up ping')
  }
})
