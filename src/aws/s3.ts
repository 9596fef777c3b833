import type { Readable } from 'node:stream'
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3'
import type { Config } from '../config/load.js'

/**
 * S3 client options: the region and, when an endpoint is configured (a local emulator), that
 * endpoint with path-style addressing, since a loopback endpoint has no bucket subdomains.
 */
export function s3ClientOptions (config: Pick<Config, 'aws'>): S3ClientConfig {
  const { region, endpoint } = config.aws
  return endpoint === undefined ? { region } : { region, endpoint, forcePathStyle: true }
}

/** Reads the objects of the settlement bucket. */
export interface SettlementFiles {
  /** The bucket it reads. */
  bucketName: string
  /** Streams an object's body, or its bytes from `from` on (a ranged GET): the file is never held whole. */
  open: (key: string, options?: { from?: number }) => Promise<Readable>
}

/** The settlement bucket through S3; the SDK client loads on first use, so HTTP cold starts never pay for it. */
export function s3SettlementFiles (config: Pick<Config, 'aws' | 'settlements'>): SettlementFiles {
  let client: S3Client | undefined
  const bucketName = config.settlements.bucketName
  return {
    bucketName,
    async open (key, { from } = {}) {
      const { S3Client, GetObjectCommand } = await import('@aws-sdk/client-s3')
      client ??= new S3Client(s3ClientOptions(config))
      // NOTE: https://www.rfc-editor.org/rfc/rfc9110#name-byte-ranges (S3 GetObject takes one range)
      const range = from === undefined || from === 0 ? undefined : `bytes=${from}-`
      const { Body } = await client.send(new GetObjectCommand({ Bucket: bucketName, Key: key, ...(range !== undefined && { Range: range }) }))
      if (Body === undefined) throw new Error(`s3://${bucketName}/${key} has no body`)
      return Body as Readable
    }
  }
}
