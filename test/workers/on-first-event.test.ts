import type { Context } from 'aws-lambda'
import t from 'tap'
import { onFirstEvent } from '../../src/workers/index.js'

const context = {} as Context

t.test('a worker is made on its first event, once, however many events wait for it', async (t) => {
  let made = 0
  const worker = onFirstEvent(async () => {
    made++
    return async (event: number) => event * 2
  })
  t.equal(made, 0, 'nothing is loaded or made before an event')
  t.same(await Promise.all([worker(1, context), worker(2, context)]), [2, 4])
  t.equal(await worker(3, context), 6)
  t.equal(made, 1)
})

t.test('a worker that could not be made fails that event, and is made again on the next', async (t) => {
  let tries = 0
  const worker = onFirstEvent(async () => {
    if (++tries === 1) throw new Error('the chunk could not be read')
    return async (event: string) => `handled ${event}`
  })
  await t.rejects(worker('a', context), { message: 'the chunk could not be read' })
  t.equal(await worker('b', context), 'handled b')
})

t.test('a worker\'s own failure is the event\'s failure; the worker is kept', async (t) => {
  let made = 0
  const worker = onFirstEvent(async () => {
    made++
    return async (event: string) => { if (event === 'bad') throw new Error('bad event'); return event }
  })
  await t.rejects(worker('bad', context), { message: 'bad event' })
  t.equal(await worker('good', context), 'good')
  t.equal(made, 1)
})
