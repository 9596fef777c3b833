/** The commands that travel on the work queue. */
export const CommandType = {
  charge: 'charge',
  applyWebhook: 'apply-webhook'
} as const

/** Charge a pending payment through the provider. */
export interface ChargeCommand {
  type: typeof CommandType.charge
  paymentId: string
}

/** Apply a stored, verified webhook event to its payment. */
export interface ApplyWebhookCommand {
  type: typeof CommandType.applyWebhook
  provider: string
  eventId: string
}

/** Any work-queue command. */
export type WorkCommand = ChargeCommand | ApplyWebhookCommand

/** What ties a command's log lines to the rest of its story: the payment, or the webhook event. */
export function correlationIdOf (command: WorkCommand): string {
  return command.type === CommandType.charge ? command.paymentId : `${command.provider}:${command.eventId}`
}
