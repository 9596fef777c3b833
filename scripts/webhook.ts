import { TriggerUsageError, parseTriggerArgs, sendWebhook } from '../src/local/webhook-trigger.js'

// `npm run webhook -- <payment.succeeded | payment.failed | payment.refunded | refund.succeeded | refund.failed> <paymentId>`:
// signs a Standard Webhook and sends it to the local server, like `stripe trigger`.
try {
  const trigger = parseTriggerArgs(process.argv.slice(2), process.env)
  const answer = await sendWebhook(trigger)
  process.stdout.write(`${JSON.stringify({ url: trigger.url, webhookId: answer.id, type: trigger.type, paymentId: trigger.paymentId, ...(trigger.refundId !== undefined && { refundId: trigger.refundId }), status: answer.status, body: answer.body }, null, 2)}\n`)
  process.exitCode = answer.status >= 200 && answer.status < 300 ? 0 : 1
} catch (error) {
  if (error instanceof TriggerUsageError) {
    process.stderr.write(`webhook: ${error.message}\n`)
  } else if (error instanceof TypeError) {
    // fetch fails with a TypeError when nothing listens there.
    const cause = error.cause instanceof Error ? error.cause.message : error.message
    process.stderr.write(`webhook: could not reach the server: ${cause} (is npm start running? --url sends elsewhere)\n`)
  } else {
    throw error
  }
  process.exitCode = 2
}
