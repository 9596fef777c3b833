import t from 'tap'
import { createBatcher } from '../../src/lib/batcher.js'

/** A run that waits until released, keeping each batch it was given. */
function gatedRun () {
  const batches: number[][] = []
  const gates: Array<() => void> = []
  const run = async (items: readonly number[]): Promise<Array<Error | undefined>> => {
    batches.push([...items])
    await new Promise<void>((resolve) => gates.push(resolve))
    return items.map(() => undefined)
  }
  return { batches, run, release: () => { gates.shift()?.() } }
}

const ticks = async (): Promise<void> => { await new Promise((resolve) => setImmediate(resolve)) }

t.test('a lone item goes at once; items that come while a batch runs wait and go together, at most maxSize a batch', async (t) => {
  const { batches, run, release } = gatedRun()
  const submit = createBatcher<number>({ maxSize: 3, maxConcurrent: 1, run })
  const all = [submit(1)]
  await ticks()
  t.same(batches, [[1]], 'the first went without waiting for company')
  all.push(submit(2), submit(3), submit(4), submit(5))
  await ticks()
  t.same(batches, [[1]], 'nothing else starts while the one allowed batch runs')
  release()
  await ticks()
  t.same(batches, [[1], [2, 3, 4]], 'those that waited went together, maxSize at most')
  release()
  await ticks()
  t.same(batches, [[1], [2, 3, 4], [5]])
  release()
  await Promise.all(all)
})

t.test('items submitted in the same tick share a batch; maxConcurrent batches run at once', async (t) => {
  const { batches, run, release } = gatedRun()
  const submit = createBatcher<number>({ maxSize: 2, maxConcurrent: 2, run })
  const all = [submit(1), submit(2), submit(3), submit(4), submit(5)]
  await ticks()
  t.same(batches, [[1, 2], [3, 4]])
  release()
  await ticks()
  t.same(batches, [[1, 2], [3, 4], [5]])
  release()
  release()
  await Promise.all(all)
})

t.test('each caller gets its own item\'s outcome, and a run that throws fails its whole batch', async (t) => {
  let calls = 0
  const submit = createBatcher<string>({
    maxSize: 10,
    maxConcurrent: 1,
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
