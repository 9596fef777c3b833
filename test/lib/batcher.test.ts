import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { createBatcher } from '../../src/lib/batcher.js'

t.test('items close together go in one run; a full batch goes at once; later items make a new batch', async (t) => {
  const runs: number[][] = []
  const submit = createBatcher<number>({ maxSize: 3, lingerMs: 20, run: async (items) => { runs.push([...items]); return items.map(() => undefined) } })
  const first = Promise.all([submit(1), submit(2), submit(3), submit(4)])
  t.same(runs, [[1, 2, 3]], 'the full batch went without waiting for the linger')
  await first
  t.same(runs, [[1, 2, 3], [4]], 'the rest went after the linger')
  await sleep(30)
  await submit(5)
  t.same(runs.at(-1), [5])
})

t.test('each caller gets its own item\'s outcome, and a run that throws fails its whole batch', async (t) => {
  let calls = 0
  const submit = createBatcher<string>({
    maxSize: 10,
    lingerMs: 1,
    run: async (items) => {
      calls++
      if (calls === 2) throw new Error('the whole call failed')
      return items.map((item) => item === 'bad' ? new Error(`refused ${item}`) : undefined)
    }
  })
  const outcomes = await Promise.allSettled([submit('good'), submit('bad')])
  t.match(outcomes, [{ status: 'fulfilled' }, { status: 'rejected', reason: { message: 'refused bad' } }])
  const failed = await Promise.allSettled([submit('a'), submit('b')])
  t.match(failed, [{ status: 'rejected', reason: { message: 'the whole call failed' } }, { status: 'rejected', reason: { message: 'the whole call failed' } }])
})
