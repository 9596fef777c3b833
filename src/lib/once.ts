/**
 * `make` run on the first call only, its promise shared by every call (concurrent first calls
 * included); a `make` that fails is run again on the next call, so a failed load is not kept.
 */
export function onceAsync<T> (make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined
  return async () => {
    made ??= make().catch((error: unknown) => {
      made = undefined
      throw error
    })
    return await made
  }
}
