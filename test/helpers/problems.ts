import type { LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'

/** What assertProblem asserts with. */
export type Assertions = Pick<Test, 'equal' | 'match' | 'type'>

/** Asserts a problem+json answer of `status` and problem `type` (its slug), with a title; returns the problem. */
export function assertProblem (t: Assertions, response: LightMyRequestResponse, status: number, type: string): Record<string, unknown> {
  t.equal(response.statusCode, status, `status ${status}`)
  t.match(response.headers['content-type'], /^application\/problem\+json/, 'problem+json')
  const problem = response.json()
  t.equal(problem.type, `https://paylith.dev/problems/${type}`)
  t.equal(problem.status, status)
  t.type(problem.title, 'string')
  return problem
}
