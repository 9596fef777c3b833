import { randomUUID } from 'node:crypto'
import { GetQueueAttributesCommand, GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs'
import t from 'tap'
import { TEST_API_KEYS } from './helpers/build.js'
import { descendants, isRunning } from './helpers/processes.js'
import { createPayment, startServer, waitForLine } from './helpers/server.js'
import { waitFor } from './helpers/wait.js'

// How the local server stops: with npm gone, and with a charge retrying.

t.test('SIGTERM to npm alone (which does not pass it on) stops the server and its emulators within seconds', async (t) => {
  const npm = startServer({ API_KEYS: TEST_API_KEYS }, { npm: true })
  const pid = npm.child.pid as number
  let processes: number[] = []
  t.teardown(() => { for (const each of [pid, ...processes]) if (isRunning(each)) process.kill(each, 'SIGKILL') })
  const started = await waitForLine(npm.lines, (line) => typeof line.url === 'string' && typeof line.endpoint === 'string', 60_000)
  const dynamodb = await waitForLine(npm.lines, (line) => line.msg !== undefined && String(line.msg).startsWith('started DynamoDB Local'))
  processes = descendants(pid)
  t.ok(processes.length >= 5, 'npm runs the server, which runs two emulators')

  const killedAt = Date.now()
  npm.child.kill('SIGTERM')
  await npm.exited
  await waitFor('every process npm started is gone', async () => processes.every((each) => !isRunning(each)), { timeoutMs: 15_000 })
  t.ok(Date.now() - killedAt < 8_000, `gone ${Date.now() - killedAt} ms after npm was (a look every second, then the usual shutdown)`)
  t.ok(npm.lines.some((line) => line.signal === 'parent-exited'), 'the server noticed its parent was gone')
  t.ok(npm.lines.some((line) => line.msg === 'stopped'), 'and stopped as on SIGTERM')
  await t.rejects(fetch(`${started.endpoint as string}/moto-api/data.json`), 'moto is gone')
  await t.rejects(fetch(dynamodb.endpoint as string), 'DynamoDB Local is gone')
  await t.rejects(fetch(`${started.url as string}/health`), 'the server is gone')
})

t.test('a charge retrying when the server stops is abandoned at once, and its message stays in the queue', async (t) => {
  const names = { TABLE_NAME: `shutdown-${randomUUID()}`, WORK_QUEUE_NAME: `shutdown-work-${randomUUID()}`, DEAD_LETTER_QUEUE_NAME: `shutdown-dlq-${randomUUID()}` }
  const endpoints = { AWS_ENDPOINT_URL: process.env.AWS_ENDPOINT_URL ?? '', ...(process.env.AWS_ENDPOINT_URL_DYNAMODB !== undefined && { AWS_ENDPOINT_URL_DYNAMODB: process.env.AWS_ENDPOINT_URL_DYNAMODB }) }
  // Ten tries, up to 5 s apart, and a breaker that stays closed: left alone, it retries for about 20 s.
  const server = startServer({
    API_KEYS: TEST_API_KEYS,
    ...endpoints,
    ...names,
    PROVIDER_MAX_ATTEMPTS: '10',
    PROVIDER_BACKOFF_BASE_MS: '5000',
    PROVIDER_BACKOFF_CAP_MS: '5000',
    BREAKER_VOLUME_THRESHOLD: '1000'
  })
  t.teardown(() => { server.child.kill('SIGKILL') })
  const started = await waitForLine(server.lines, (line) => typeof line.url === 'string' && typeof line.endpoint === 'string', 60_000)
  const created = await createPayment(started.url as string, 'shutdown-1', { amount: 1062, currency: 'EUR', customerId: 'cus_shutdown' })
  t.equal(created.status, 201)
  await waitForLine(server.lines, (line) => line.msg === 'provider call failed; retrying' && line.paymentId === created.body.id)

  const stoppedAt = Date.now()
  server.child.kill('SIGTERM')
  const [code] = await server.exited
  const tookMs = Date.now() - stoppedAt
  t.equal(code, 0, 'a clean stop')
  t.ok(tookMs < 3_000, `stopped in ${tookMs} ms, not after the retries or the 10 s shutdown timeout`)

  const sqs = new SQSClient({ endpoint: endpoints.AWS_ENDPOINT_URL })
  t.teardown(() => { sqs.destroy() })
  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: names.WORK_QUEUE_NAME }))
  const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }))
  t.equal(Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible), 1, 'the charge command was not deleted: it comes back after its visibility timeout')
})
