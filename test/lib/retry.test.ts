import t from 'tap'
import { fullJitter, retry } from '../../src/lib/retry.js'

const failing = (failures: number, tries: number[]) => async (attempt: number) => {
  tries.push(attempt)
  if (attempt <= failures) throw new Error(`failure ${attempt}`)
  return `done on try ${attempt}`
}

t.test('a failing operation is tried again until it succeeds', async (t) => {
  const tries: number[] = []
  t.equal(await retry(failing(2, tries), { attempts: 3 }), 'done on try 3')
  t.same(tries, [1, 2, 3])
})

t.test('the number of tries never exceeds attempts, and the last failure is thrown as it is', async (t) => {
  const tries: number[] = []
  await t.rejects(retry(failing(5, tries), { attempts: 3 }), { message: 'failure 3' })
  t.same(tries, [1, 2, 3])
})

t.test('a failure not worth retrying is thrown at once', async (t) => {
  const tries: number[] = []
  await t.rejects(retry(failing(5, tries), { attempts: 3, shouldRetry: (error) => (error as Error).message !== 'failure 1' }), { message: 'failure 1' })
  t.same(tries, [1])
})

t.test('shouldRetry and onRetry see the next try and the wait before it', async (t) => {
  const seen: Array<{ attempt: number, delayMs: number }> = []
  const retried: number[] = []
  await retry(failing(2, []), {
    attempts: 5,
    delayMs: (attempt) => attempt * 2,
    shouldRetry: (_error, next) => { seen.push(next); return true },
    onRetry: (_error, next) => { retried.push(next.attempt) }
  })
  t.same(seen, [{ attempt: 2, delayMs: 2 }, { attempt: 3, delayMs: 4 }])
  t.same(retried, [2, 3])
})

t.test('full jitter stays below min(cap, base × 2^(n-1)) and reaches its top with random → 1', async (t) => {
  const top = fullJitter(100, 1_000, () => 0.999999)
  t.same([1, 2, 3, 4, 5].map(top), [99, 199, 399, 799, 999])
  const bottom = fullJitter(100, 1_000, () => 0)
  t.same([1, 2, 3].map(bottom), [0, 0, 0])
})

t.test('an abort ends the wait before the next try at once, and the last failure is thrown', async (t) => {
  const tries: number[] = []
  const controller = new AbortController()
  const started = Date.now()
  setTimeout(() => { controller.abort() }, 50)
  await t.rejects(retry(failing(5, tries), { attempts: 5, delayMs: () => 5_000, signal: controller.signal }), { message: 'failure 1' })
  t.ok(Date.now() - started < 1_000, 'not after the 5 s wait')
  t.same(tries, [1])
})

t.test('after an abort no further try is made', async (t) => {
  const tries: number[] = []
  const controller = new AbortController()
  controller.abort()
  await t.rejects(retry(failing(5, tries), { attempts: 5, signal: controller.signal }), { message: 'failure 1' })
  t.same(tries, [1])
})
