/** How long a `POST /v1/settlements` upload URL works: the settlement's upload window. */
export const UPLOAD_WINDOW_SECONDS = 15 * 60

/**
 * How long past its upload window a settlement still waits for its file. S3 checks a presigned
 * URL's expiry when the request arrives, so a PUT begun just before it may end well after (an
 * hour is 5 GB, S3's largest single PUT, at 1.4 MB/s).
 * NOTE: https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-presigned-url.html#PresignedUrl-Expiration
 */
export const UPLOAD_GRACE_SECONDS = 60 * 60

/** What a settlement's upload window needs of it. */
interface AwaitingUpload {
  status: string
  startedAt: string
  /** When its upload URL expires (absent on settlements made before it was stored: `startedAt` + the window). */
  uploadExpiresAt?: string
}

/**
 * A settlement as it stands at `now`: one still `awaiting_upload` an hour past its upload
 * window is `expired` (computed, never stored: nothing has to run for it, and it is exact the
 * moment it is due). A file that comes later gets a settlement of its own.
 */
export function settlementAsOf<S extends AwaitingUpload> (settlement: S, now: Date): S | (S & { status: 'expired' }) {
  if (settlement.status !== 'awaiting_upload') return settlement
  const windowEnds = settlement.uploadExpiresAt === undefined ? Date.parse(settlement.startedAt) + UPLOAD_WINDOW_SECONDS * 1000 : Date.parse(settlement.uploadExpiresAt)
  return now.getTime() >= windowEnds + UPLOAD_GRACE_SECONDS * 1000 ? { ...settlement, status: 'expired' } : settlement
}
