import * as Type from '@sinclair/typebox'
import type { Static } from '@sinclair/typebox'
import { MalformedCommandError } from '../domain/errors.js'
import type { Validator } from '../lib/ajv.js'
import { validatorOf } from '../lib/validators.js'
import { isObject } from '../lib/is-object.js'

/** The commands that travel on the work queue. */
export const CommandType = {
  charge: 'charge',
  applyWebhook: 'apply-webhook',
  refund: 'refund'
} as const

/** One command type. */
export type CommandType = (typeof CommandType)[keyof typeof CommandType]

/** Charge a pending payment through the provider. */
export const ChargeCommandSchema = Type.Object({
  type: Type.Literal(CommandType.charge),
  paymentId: Type.String({ minLength: 1 })
})
/** Charge a pending payment through the provider. */
export type ChargeCommand = Static<typeof ChargeCommandSchema>

/** Apply a stored, verified webhook event to its payment. */
export const ApplyWebhookCommandSchema = Type.Object({
  type: Type.Literal(CommandType.applyWebhook),
  provider: Type.String({ minLength: 1 }),
  eventId: Type.String({ minLength: 1 })
})
/** Apply a stored, verified webhook event to its payment. */
export type ApplyWebhookCommand = Static<typeof ApplyWebhookCommandSchema>

/** Ask the provider for a pending refund of a payment. */
export const RefundCommandSchema = Type.Object({
  type: Type.Literal(CommandType.refund),
  paymentId: Type.String({ minLength: 1 }),
  refundId: Type.String({ minLength: 1 })
})
/** Ask the provider for a pending refund of a payment. */
export type RefundCommand = Static<typeof RefundCommandSchema>

/** Any work-queue command. */
export type WorkCommand = ChargeCommand | ApplyWebhookCommand | RefundCommand

/** The command of one type. */
export type CommandOf<T extends CommandType> = Extract<WorkCommand, { type: T }>

/** Each command's validator (strict: as the body says), compiled on the first message of its type or, in the bundle, at build time. */
const VALIDATORS: Readonly<Record<CommandType, Validator>> = {
  [CommandType.charge]: validatorOf('strict', ChargeCommandSchema),
  [CommandType.applyWebhook]: validatorOf('strict', ApplyWebhookCommandSchema),
  [CommandType.refund]: validatorOf('strict', RefundCommandSchema)
}

/**
 * Reads a work-queue message body as a command, checked against its type's schema (see
 * src/lib/validators.ts: nothing is compiled at cold start).
 * @throws MalformedCommandError saying what is wrong: not JSON, no or unknown type, a missing or ill-typed field
 */
export function parseWorkCommand (body: string): WorkCommand {
  let value: unknown
  try {
    value = JSON.parse(body)
  } catch (error) {
    throw new MalformedCommandError('the message body is not JSON', { cause: error })
  }
  const type = isObject(value) ? value.type : undefined
  if (typeof type !== 'string') throw new MalformedCommandError('the message body is not a command: it needs to be a JSON object with a string "type"')
  if (!Object.hasOwn(VALIDATORS, type)) throw new MalformedCommandError(`unknown command type ${JSON.stringify(type)}`)
  const validate = VALIDATORS[type as CommandType]
  if (!validate(value)) {
    // One problem per field, first one first.
    const problems = new Map<string, string>()
    for (const error of validate.errors ?? []) {
      const missing = error.params.missingProperty as string | undefined
      const path = missing === undefined ? error.instancePath : `${error.instancePath}/${missing}`
      const field = path === '' ? 'the command' : path.slice(1).replaceAll('/', '.')
      if (!problems.has(field)) problems.set(field, missing === undefined ? `expected ${error.message ?? 'a valid value'}`.replace('expected must be', 'expected') : 'expected required property')
    }
    throw new MalformedCommandError(`invalid ${type} command: ${[...problems].map(([field, problem]) => `${field}: ${problem}`).join('; ')}`)
  }
  return value as WorkCommand
}

/** What ties a command's log lines to the rest of its story: the payment, or the webhook event. */
export function correlationIdOf (command: WorkCommand): string {
  return command.type === CommandType.applyWebhook ? `${command.provider}:${command.eventId}` : command.paymentId
}
