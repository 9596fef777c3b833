import { spawnSync } from 'node:child_process'
import t from 'tap'

// What npm run load and npm run chaos share (scripts/load/cli.ts) before any emulator starts:
// the usage on --help, and a clear error with exit 2 on a bad argument.
const cwd = new URL('../../..', import.meta.url)
const run = (script: string, args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', `scripts/load/${script}.ts`, ...args], { cwd, encoding: 'utf8', timeout: 60_000 })

for (const script of ['load', 'chaos']) {
  t.test(`${script} --help prints its usage and exits 0; a bad argument says which, with the usage, and exits 2`, async (t) => {
    const help = run(script, ['--help'])
    t.equal(help.status, 0)
    t.match(help.stdout, /usage|Usage/)
    t.notMatch(help.stderr, /starting the emulators/, 'nothing is started for --help')

    const bad = run(script, ['--rate', 'fast'])
    t.equal(bad.status, 2)
    t.match(bad.stderr, new RegExp(`^${script}: .*rate`, 'm'), 'names the argument')
    t.match(bad.stderr, /usage|Usage/, 'and shows the usage')
    t.notMatch(bad.stderr, /starting the emulators/)
  })
}
