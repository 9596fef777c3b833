import { Readable } from 'node:stream'
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

/** The part size of a multipart upload: S3's least (but for the last part). */
const REPORT_PART_BYTES = 5 * 1024 * 1024

/** Reads the objects of the settlement bucket, writes its reports, and signs uploads to it. */
export interface SettlementFiles {
  /** The bucket it reads. */
  bucketName: string
  /** Streams an object's body, or its bytes from `from` on (a ranged GET): the file is never held whole. */
  open: (key: string, options?: { from?: number }) => Promise<Readable>
  /**
   * Writes an object from text produced as it goes, as a streamed multipart upload: parts of
   * 5 MB, two in flight, so memory holds about 10 MB whatever the size (a single PUT when it is
   * smaller than a part; an upload that fails is aborted).
   */
  write: (key: string, text: AsyncIterable<string>, contentType: string) => Promise<void>
  /** A presigned URL that lets its holder PUT this one object for `expiresInSeconds`, signed with the function's own credentials. */
  uploadUrl: (key: string, expiresInSeconds: number) => Promise<string>
}

/** The settlement bucket through S3; the SDK client (and the presigner) load on first use, so HTTP cold starts never pay for them. */
export function s3SettlementFiles (config: Pick<Config, 'aws' | 'settlements'>): SettlementFiles {
  let client: S3Client | undefined
  const bucketName = config.settlements.bucketName
  const s3 = async (): Promise<S3Client> => {
    const { S3Client } = await import('@aws-sdk/client-s3')
    client ??= new S3Client(s3ClientOptions(config))
    return client
  }
  return {
    bucketName,
    async write (key, text, contentType) {
      // Loaded on the first report: the HTTP cold start never pays for it.
      const { Upload } = await import('@aws-sdk/lib-storage')
      // NOTE: https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html (a part is 5 MB at least, but the last)
      const upload = new Upload({
        client: await s3(),
        params: { Bucket: bucketName, Key: key, Body: Readable.from(text, { objectMode: false }), ContentType: contentType },
        partSize: REPORT_PART_BYTES,
        queueSize: 2
      })
      await upload.done()
    },
    async uploadUrl (key, expiresInSeconds) {
      const { PutObjectCommand } = await import('@aws-sdk/client-s3')
      const { getSignedUrl } = await import('@aws-sdk/s3-request-presigner')
      // NOTE: https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-presigned-url.html (the URL can do what the signer may, until it or the signer's session expires)
      return getSignedUrl(await s3(), new PutObjectCommand({ Bucket: bucketName, Key: key }), { expiresIn: expiresInSeconds })
    },
    async open (key, { from } = {}) {
      const { GetObjectCommand } = await import('@aws-sdk/client-s3')
      const client = await s3()
      // NOTE: https://www.rfc-editor.org/rfc/rfc9110#name-byte-ranges (S3 GetObject takes one range)
      const range = from === undefined || from === 0 ? undefined : `bytes=${from}-`
      const { Body } = await client.send(new GetObjectCommand({ Bucket: bucketName, Key: key, ...(range !== undefined && { Range: range }) }))
      if (Body === undefined) throw new Error(`s3://${bucketName}/${key} has no body`)
      return Body as Readable
    }
  }
}
