import { readFile } from 'node:fs/promises'
import { errorCodes } from 'fastify'
import t from 'tap'
import { ErrorCode, IdempotencyKeyInFlightError, InternalErrorCode, UnknownPaymentError, VersionConflictError } from '../../src/domain/errors.js'
import { HttpErrorCode, UnauthorizedError } from '../../src/http/errors.js'
import { FASTIFY_PROBLEMS, PROBLEMS, tabledProblem } from '../../src/http/problems.js'
import { withProblemTypes } from '../../scripts/problem-types.js'

t.test('every code a client may be answered with has a problem entry, and no internal code has one', async (t) => {
  for (const code of [...Object.values(ErrorCode), ...Object.values(HttpErrorCode)]) t.ok(Object.hasOwn(PROBLEMS, code), code)
  for (const code of Object.values(InternalErrorCode)) t.notOk(Object.hasOwn(PROBLEMS, code), code)
  t.equal(Object.keys(PROBLEMS).length, Object.values(ErrorCode).length + Object.values(HttpErrorCode).length, 'nothing else is in the table')
})

t.test('each problem type belongs to one code', async (t) => {
  const slugs = Object.values(PROBLEMS).map((kind) => kind.slug)
  t.same([...new Set(slugs)].sort(), [...slugs].sort())
  const fastifySlugs = new Set(Object.values(FASTIFY_PROBLEMS).map((kind) => kind.slug))
  t.notOk(slugs.some((slug) => fastifySlugs.has(slug)), 'Fastify\'s kinds are their own')
})

t.test('the statuses documented for Fastify\'s errors are the ones Fastify raises them with', async (t) => {
  for (const [code, kind] of Object.entries(FASTIFY_PROBLEMS)) {
    const FastifyError = errorCodes[code as keyof typeof errorCodes] as unknown as new () => { statusCode: number }
    t.equal(new FastifyError().statusCode, kind.status, code)
  }
})

t.test('an error is answered as its code\'s entry says, with the headers its data calls for', async (t) => {
  t.match(tabledProblem(new IdempotencyKeyInFlightError('busy', { key: 'k', retryAfterSeconds: 7 })), {
    kind: { status: 409, slug: 'idempotency-key-in-flight', title: 'Idempotency-Key In Flight' },
    code: 'PAYLITH_IDEMPOTENCY_KEY_IN_FLIGHT',
    headers: { 'retry-after': '7' }
  })
  t.match(tabledProblem(new UnauthorizedError('no key')), { kind: { status: 401 }, headers: { 'www-authenticate': 'Bearer' } })
  t.match(tabledProblem(new VersionConflictError('raced', { paymentId: 'pay_1', expectedVersion: 2 })), { kind: { status: 409, slug: 'conflict' }, headers: {} })
})

t.test('an internal error or a foreign one has no entry: it is answered as a generic 500', async (t) => {
  t.equal(tabledProblem(new UnknownPaymentError('no payment')), undefined)
  t.equal(tabledProblem(new Error('boom')), undefined)
  t.equal(tabledProblem(Object.assign(new Error('lookalike'), { code: ErrorCode.conflict })), undefined, 'only a PaylithError counts')
})

t.test('the README lists exactly the problem types of the table', async (t) => {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8')
  t.equal(readme, withProblemTypes(readme), 'out of date: run node --import tsx scripts/readme-problems.ts')
})
