import SerializerSelector from '@fastify/fast-json-stringify-compiler'
import type { FastifyServerOptions } from 'fastify'

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>

/** What the build records: each response schema a serializer is made for, with the app's shared schemas and options. */
export interface SerializerRequest {
  schema: object
  externalSchemas: Record<string, unknown>
  options: Record<string, unknown> | undefined
}

let recorder: ((request: SerializerRequest) => void) | undefined

/** Calls `listener` with every serializer made from now on (the build's record). */
export function recordSerializers (listener: (request: SerializerRequest) => void): void {
  recorder = listener
}

/**
 * Fastify compiles every route's response serializers when the app starts: for ~15 routes
 * with several status codes each, that was the largest piece of the Lambda init after parsing
 * the bundle. An invocation usually needs one route and one status, so each serializer is
 * compiled the first time it is used instead, with the same compiler and options. (A schema
 * that cannot compile then fails its route's first request, not the start: the route tests
 * exercise every route and status.) The Lambda bundle replaces this module with the same
 * serializers compiled at build time into standalone code (scripts/compile-schemas.ts), so
 * fast-json-stringify is not on its cold path.
 */
export const buildLazySerializer: NonNullable<CompilersFactory['buildSerializer']> = (externalSchemas, options) => {
  const compile = SerializerSelector()(externalSchemas, options)
  return (routeDefinition) => {
    recorder?.({ schema: routeDefinition.schema as object, externalSchemas: externalSchemas as Record<string, unknown>, options: options as Record<string, unknown> | undefined })
    let serialize: ((data: unknown) => string) | undefined
    return (data: unknown) => (serialize ??= compile(routeDefinition as Parameters<typeof compile>[0]))(data)
  }
}
