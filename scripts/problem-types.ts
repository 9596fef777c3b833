import { CLIENT_ERROR_PROBLEMS, FASTIFY_PROBLEMS, OTHER_CLIENT_PROBLEM, PROBLEMS, type ProblemKind } from '../src/http/problems.js'

/** Where the generated list stands in README.md. */
export const MARKERS = { start: '<!-- problems:start -->', end: '<!-- problems:end -->' } as const

interface Row { type: string, status: string, title: string, code: string, when: string[], order: number }

/**
 * The README's table of problem types, from the problem table (src/http/problems.ts): one row
 * per type, by status; Fastify's own 4xx, Node's HTTP parser's and the fallback for any other 4xx included.
 */
export function renderProblemTypes (): string {
  const rows = new Map<string, Row>()
  const add = (kind: Pick<ProblemKind, 'slug' | 'title' | 'when'>, status: string, code: string, order: number): void => {
    const row = rows.get(kind.slug)
    if (row === undefined) rows.set(kind.slug, { type: `\`${kind.slug}\``, status, title: kind.title, code: `\`${code}\``, when: [kind.when], order })
    else if (!row.when.includes(kind.when)) row.when.push(kind.when)
  }
  for (const [code, kind] of Object.entries(PROBLEMS)) add(kind, String(kind.status), code, kind.status)
  for (const kind of [...Object.values(FASTIFY_PROBLEMS), ...Object.values(CLIENT_ERROR_PROBLEMS)]) add(kind, String(kind.status), `PAYLITH_HTTP_${kind.status}`, kind.status)
  add({ slug: 'http-<status>', ...OTHER_CLIENT_PROBLEM }, '4xx', 'PAYLITH_HTTP_<status>', 499)
  const sorted = [...rows.values()].sort((a, b) => a.order - b.order)
  return [
    '| type | status | title | code | when |',
    '| --- | --- | --- | --- | --- |',
    ...sorted.map((row) => `| ${row.type} | ${row.status} | ${row.title} | ${row.code} | ${row.when.join('; ')} |`)
  ].join('\n')
}

/** The README text with the generated table between its markers; throws if the markers are missing. */
export function withProblemTypes (readme: string): string {
  const start = readme.indexOf(MARKERS.start)
  const end = readme.indexOf(MARKERS.end)
  if (start === -1 || end < start) throw new Error(`README.md needs ${MARKERS.start} and ${MARKERS.end} around the list of problem types`)
  return `${readme.slice(0, start + MARKERS.start.length)}\n${renderProblemTypes()}\n${readme.slice(end)}`
}
