import type { SQSClient } from '@aws-sdk/client-sqs'
import { isObject } from '../lib/is-object.js'

/** What the settlement worker sends itself when a file outlasts an invocation: carry on with this run of that settlement. */
export interface SettlementContinuation {
  type: 'settlement-continuation'
  settlementId: string
  /** The run to start: the settlement's checkpoint says where. */
  run: number
}

/** Whether a settlement-queue message is a continuation (the others are S3's notifications). */
export function isSettlementContinuation (message: unknown): message is SettlementContinuation {
  return isObject(message) && message.type === 'settlement-continuation' && typeof message.settlementId === 'string' && Number.isInteger(message.run)
}

/** Sends a continuation to the settlement queue. */
export type ContinueSettlement = (continuation: Omit<SettlementContinuation, 'type'>) => Promise<void>

/** Continuations through the settlement queue (`SETTLEMENT_QUEUE_URL`, or the one the local bootstrap found). */
export function settlementContinuations ({ sqs, url }: { sqs: () => Promise<SQSClient>, url: string | undefined }): ContinueSettlement {
  return async ({ settlementId, run }) => {
    if (url === undefined) throw new Error('the settlement queue URL is not known: set SETTLEMENT_QUEUE_URL')
    const continuation: SettlementContinuation = { type: 'settlement-continuation', settlementId, run }
    const { SendMessageCommand } = await import('@aws-sdk/client-sqs')
    await (await sqs()).send(new SendMessageCommand({ QueueUrl: url, MessageBody: JSON.stringify(continuation) }))
  }
}
