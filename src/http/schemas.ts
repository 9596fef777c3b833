import * as Type from '@sinclair/typebox'
import type { Static } from '@sinclair/typebox'

/** One failing field of a validation problem. */
const InvalidParamSchema = Type.Object({
  name: Type.String({ description: 'Where the value was: body, querystring, params or headers, then its JSON pointer.' }),
  reason: Type.String()
})

/** RFC 9457 problem details, as every error response of paylith is shaped. */
export const ProblemDetailsSchema = Type.Object({
  type: Type.String({ description: 'A stable URI per kind of problem.' }),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.Optional(Type.String()),
  instance: Type.Optional(Type.String()),
  code: Type.Optional(Type.String({ description: 'Stable machine-readable code, PAYLITH_<AREA>_<WHAT>.' })),
  invalidParams: Type.Optional(Type.Array(InvalidParamSchema)),
  available: Type.Optional(Type.Integer({ description: 'refund-exceeds-available: what the payment can still give back, in minor units.' })),
  requestId: Type.String({ description: 'The request\'s id, as in the Request-Id header: quote it when reporting a problem.' })
}, { $id: 'ProblemDetails', description: 'RFC 9457 problem details (application/problem+json).' })

/** A problem details body as the app builds it; sendProblem adds the request's id. */
export type ProblemDetails = Omit<Static<typeof ProblemDetailsSchema>, 'requestId'>

/** Reference to the shared ProblemDetails schema, for route response declarations. */
const ProblemRef = Type.Ref(ProblemDetailsSchema)

/** A response declaration for errors: problem details under application/problem+json. */
export const ProblemResponse = {
  description: 'RFC 9457 problem details.',
  content: { 'application/problem+json': { schema: ProblemRef } }
}
