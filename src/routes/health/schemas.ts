import * as Type from '@sinclair/typebox'
import type { Static } from '@sinclair/typebox'

/** `GET /health` answer: the process is up. */
export const HealthSchema = Type.Object({
  status: Type.Literal('ok')
})
export type Health = Static<typeof HealthSchema>

/** `GET /ready` answer: the dependencies answer; further checks (the local stream poller's) are named beside DynamoDB's. */
export const ReadinessSchema = Type.Object({
  status: Type.Literal('ready'),
  checks: Type.Object({ dynamodb: Type.Literal('ok') }, { additionalProperties: Type.Literal('ok') })
})
export type Readiness = Static<typeof ReadinessSchema>
