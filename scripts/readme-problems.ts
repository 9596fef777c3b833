import { readFile, writeFile } from 'node:fs/promises'
import { withProblemTypes } from './problem-types.js'

// Regenerates the README's table of problem types from src/http/problems.ts:
// node --import tsx scripts/readme-problems.ts
const path = new URL('../README.md', import.meta.url)
const readme = await readFile(path, 'utf8')
const updated = withProblemTypes(readme)
if (updated === readme) {
  console.log('README.md: the problem types are up to date')
} else {
  await writeFile(path, updated)
  console.log('README.md: problem types regenerated')
}
