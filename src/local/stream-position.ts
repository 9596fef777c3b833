import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'

/** Where a stream poller is: the last sequence number done, per shard, kept across restarts. */
export interface StreamPosition {
  /** The saved position of each shard of the stream (empty for another stream or none saved). */
  load: () => Record<string, string>
  /** Records that everything up to and including `sequenceNumber` of `shardId` is done. */
  save: (shardId: string, sequenceNumber: string) => void
}

interface SavedPosition {
  streamArn: string
  shards: Record<string, string>
}

/**
 * A stream position kept in a JSON file, for one stream: a position saved for another stream
 * (the table was recreated) is ignored. Written whole to a temporary file and renamed, so a
 * crash leaves the old position or the new one, never half of one.
 */
export function fileStreamPosition (path: string, streamArn: string): StreamPosition {
  let shards: Record<string, string> | undefined
  const load = (): Record<string, string> => {
    shards ??= readPosition(path, streamArn)
    return { ...shards }
  }
  return {
    load,
    save: (shardId, sequenceNumber) => {
      shards = { ...load(), [shardId]: sequenceNumber }
      const saved: SavedPosition = { streamArn, shards }
      mkdirSync(dirname(path), { recursive: true })
      writeFileSync(`${path}.tmp`, `${JSON.stringify(saved, null, 2)}\n`)
      renameSync(`${path}.tmp`, path)
    }
  }
}

function readPosition (path: string, streamArn: string): Record<string, string> {
  let saved: Partial<SavedPosition>
  try {
    saved = JSON.parse(readFileSync(path, 'utf8')) as Partial<SavedPosition>
  } catch {
    return {}
  }
  return saved.streamArn === streamArn && typeof saved.shards === 'object' && saved.shards !== null ? saved.shards : {}
}
