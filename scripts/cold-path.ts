import { readFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * The files a cold start reads from a built dist/: lambda.mjs, every chunk it imports
 * statically, and the chunks those import (not the chunks loaded by a dynamic import, nor the
 * compiled validators and serializers in dist/compiled/, all loaded on first use). Paths are
 * relative to `dist`.
 */
export function coldPathFiles (dist: string): string[] {
  const files = ['lambda.mjs']
  const follow = (file: string, dir: string) => {
    for (const [, name] of readFileSync(join(dist, file), 'utf8').matchAll(/(?:from|import)\s*"\.\/([^"]+\.mjs)"/g)) {
      const chunk = join(dir, name as string)
      if (!files.includes(chunk)) { files.push(chunk); follow(chunk, 'chunks') }
    }
  }
  follow('lambda.mjs', '')
  return files
}
