// Every worker's factory, in one module the worker registry (index.ts) imports on a worker's
// first event: one module loaded on first use, rather than one per worker, keeps the bundle's
// cold path in few chunks (each chunk is a module the runtime reads, parses and links).

export { createApplyWebhookHandler } from './apply-webhook.js'
export { createChargeHandler } from './charge.js'
export { createDeadLetterWorker } from './dead-letter-queue.js'
export { createPaymentChangeHandler, createWebhookChangeHandler } from './outbox.js'
export { createRefundHandler } from './refund.js'
export { createSettlementWorker } from './settlement.js'
export { createRefundSweeper, createSweeper } from './sweeper.js'
export { createTableStreamWorker } from './table-stream.js'
export { createWebhookSafetyNet } from './webhook-safety-net.js'
export { createWorkQueueWorker } from './work-queue.js'
export { resilientChargeFor } from '../providers/resilient.js'
