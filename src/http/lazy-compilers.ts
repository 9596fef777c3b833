import SerializerSelector from '@fastify/fast-json-stringify-compiler'
import type { FastifyServerOptions } from 'fastify'

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>

/**
 * Fastify compiles every route's response serializers when the app starts: for ~15 routes
 * with several status codes each, that was the largest piece of the Lambda init after parsing
 * the bundle. An invocation usually needs one route and one status, so each serializer is
 * compiled the first time it is used instead, with the same compiler and options. (A schema
 * that cannot compile then fails its route's first request, not the start: the route tests
 * exercise every route and status.)
 */
export const buildLazySerializer: NonNullable<CompilersFactory['buildSerializer']> = (externalSchemas, options) => {
  const compile = SerializerSelector()(externalSchemas, options)
  return (routeDefinition) => {
    let serialize: ((data: unknown) => string) | undefined
    return (data: unknown) => (serialize ??= compile(routeDefinition as Parameters<typeof compile>[0]))(data)
  }
}
