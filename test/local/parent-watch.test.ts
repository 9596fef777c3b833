import t from 'tap'
import { watchParent } from '../../src/local/parent-watch.js'

const tick = async (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

t.test('the watch fires once, when the parent process id changes', async (t) => {
  let parent = 100
  let gone = 0
  const stop = watchParent(() => { gone += 1 }, { parentPid: () => parent, intervalMs: 10 })
  t.teardown(stop)
  await tick(50)
  t.equal(gone, 0, 'not while the parent is there')
  parent = 1
  await tick(50)
  parent = 200
  await tick(50)
  t.equal(gone, 1, 'once')
})

t.test('a stopped watch never fires', async (t) => {
  let parent = 100
  let gone = 0
  const stop = watchParent(() => { gone += 1 }, { parentPid: () => parent, intervalMs: 10 })
  stop()
  parent = 1
  await tick(50)
  t.equal(gone, 0)
})

t.test('by default it watches this process\'s real parent, which is still there', async (t) => {
  let gone = false
  const stop = watchParent(() => { gone = true }, { intervalMs: 10 })
  await tick(50)
  stop()
  t.equal(gone, false)
})

t.test('a parent gone before the watch started is noticed at the first look', async (t) => {
  let gone = 0
  const stop = watchParent(() => { gone += 1 }, { parentPid: () => 1, initialPid: 100, intervalMs: 10 })
  t.teardown(stop)
  await tick(50)
  t.equal(gone, 1)
})
