import type { SQSClient } from '@aws-sdk/client-sqs'

/** The name the middleware is registered under in the client's stack. */
export const SQS_DELETE_EXCLUSION_MIDDLEWARE = 'paylithSqsDeleteExclusion'

/** What a command does to a queue's list of messages, as the local emulator keeps it. */
const Access = {
  /** Adds messages (SendMessage, SendMessageBatch): any number at once, but never during a removal. */
  add: 'add',
  /** Removes messages (DeleteMessage, DeleteMessageBatch): alone. */
  remove: 'remove'
} as const

type Access = (typeof Access)[keyof typeof Access]

const ACCESS_OF: Readonly<Record<string, Access>> = {
  SendMessageCommand: Access.add,
  SendMessageBatchCommand: Access.add,
  DeleteMessageCommand: Access.remove,
  DeleteMessageBatchCommand: Access.remove
}

/** One queue's holders: adds in flight, whether a removal is, and who waits. */
interface Gate {
  adding: number
  removing: boolean
  removalsWaiting: number
  waiters: Array<() => void>
}

/** Gates by queue URL, shared by every client of the process (the app's pollers and its senders). */
const gates = new Map<string, Gate>()

async function enter (queueUrl: string, access: Access): Promise<() => void> {
  let gate = gates.get(queueUrl)
  if (gate === undefined) {
    gate = { adding: 0, removing: false, removalsWaiting: 0, waiters: [] }
    gates.set(queueUrl, gate)
  }
  const held = gate
  // A waiting removal goes before new adds, so a steady stream of sends cannot starve it.
  const free = (): boolean => access === Access.add ? !held.removing && held.removalsWaiting === 0 : !held.removing && held.adding === 0
  if (access === Access.remove) held.removalsWaiting++
  while (!free()) await new Promise<void>((resolve) => { held.waiters.push(resolve) })
  if (access === Access.remove) {
    held.removalsWaiting--
    held.removing = true
  } else {
    held.adding++
  }
  return () => {
    if (access === Access.remove) held.removing = false
    else held.adding--
    const waiters = held.waiters.splice(0)
    for (const wake of waiters) wake()
    if (held.adding === 0 && !held.removing && held.removalsWaiting === 0 && held.waiters.length === 0) gates.delete(queueUrl)
  }
}

/**
 * Runs a queue's deletes one at a time and never while a send to it is in flight; sends still
 * run side by side. Only for the local emulator: moto_server handles requests on threads, and
 * its DeleteMessage rebuilds the queue's message list from a copy without the lock its
 * SendMessage appends under, so a message sent meanwhile is lost (sent, acknowledged, never
 * delivered) and another delete's message comes back. A chaos run lost a charge command that
 * way; real SQS has no such race. The gate holds for each HTTP attempt (deserialize step, below
 * the SDK's retries), per queue URL, across every client of the process.
 */
export function excludeConcurrentSqsDeletes (client: SQSClient): void {
  // NOTE: moto/sqs/models.py, Queue.delete_message assigns `self._messages = new_messages`
  // outside `self._messages_lock`, which Queue.add_message holds (moto 5.x).
  client.middlewareStack.add((next, context) => async (args) => {
    const access = ACCESS_OF[context.commandName ?? '']
    const queueUrl = (args.input as { QueueUrl?: unknown }).QueueUrl
    if (access === undefined || typeof queueUrl !== 'string') return await next(args)
    const leave = await enter(queueUrl, access)
    try {
      return await next(args)
    } finally {
      leave()
    }
  }, { step: 'deserialize', priority: 'low', name: SQS_DELETE_EXCLUSION_MIDDLEWARE, override: true })
}
