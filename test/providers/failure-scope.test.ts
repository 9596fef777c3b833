import t from 'tap'
import { createFailureMemory, failureScope, FailureScope } from '../../src/providers/failure-scope.js'
import { ProviderRequestError, TransientProviderError } from '../../src/providers/types.js'

t.test('a provider error about the one request is the request\'s, whatever else is known', async (t) => {
  const error = new ProviderRequestError('idempotency key in use')
  for (const repeated of [false, true]) {
    for (const trial of [false, true]) t.equal(failureScope(error, { repeated, trial }), FailureScope.request)
  }
})

t.test('a payment\'s first failure may be the provider\'s; its next ones are its own', async (t) => {
  const error = new TransientProviderError('processor_unavailable')
  t.equal(failureScope(error, { repeated: false, trial: false }), FailureScope.provider)
  t.equal(failureScope(error, { repeated: true, trial: false }), FailureScope.payment)
})

t.test('the half-open trial counts even for a payment that failed before', async (t) => {
  t.equal(failureScope(new TransientProviderError('down'), { repeated: true, trial: true }), FailureScope.provider)
  t.equal(failureScope(new Error('socket hang up'), { repeated: false, trial: true }), FailureScope.provider)
})

t.test('the memory forgets a payment once its time to live has passed', async (t) => {
  const memory = createFailureMemory({ ttlMs: 100, capacity: 10 })
  memory.remember('pay_a', 1_000)
  memory.remember('pay_a', 1_010)
  t.equal(memory.failures('pay_a', 1_109), 2, 'two failures, the last one 99 ms ago')
  t.equal(memory.failures('pay_b', 1_050), 0)
  t.equal(memory.failures('pay_a', 1_110), 0)
  t.equal(memory.size, 0, 'the expired entry is gone')
})

t.test('the memory holds at most its capacity, forgetting the oldest first', async (t) => {
  const memory = createFailureMemory({ ttlMs: 60_000, capacity: 3 })
  for (const [i, id] of ['pay_1', 'pay_2', 'pay_3'].entries()) memory.remember(id, i)
  memory.remember('pay_1', 10) // failed again: now the newest
  memory.remember('pay_4', 11)
  t.equal(memory.size, 3)
  t.same(['pay_1', 'pay_2', 'pay_3', 'pay_4'].map((id) => memory.failures(id, 12)), [2, 0, 1, 1])
})

t.test('remembering drops the expired entries it passes', async (t) => {
  const memory = createFailureMemory({ ttlMs: 10, capacity: 100 })
  memory.remember('pay_old', 0)
  memory.remember('pay_new', 50)
  t.equal(memory.size, 1)
})
