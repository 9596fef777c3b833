import { createHash } from 'node:crypto'

/**
 * A schema's name among those compiled at build time: a digest of what it is compiled for
 * (`strict`, `coercing`, `serializer`) and its JSON. The build and the bundle compute it from
 * the same schema objects, so a schema the build did not see has no name in the bundle.
 */
export function schemaKey (kind: string, schema: unknown): string {
  return createHash('sha256').update(kind).update('\n').update(JSON.stringify(schema)).digest('base64url').slice(0, 22)
}
