import * as Type from '@sinclair/typebox'
import type { Static } from '@sinclair/typebox'
import { SETTLEMENT_ID_PATTERN } from '../../domain/ids.js'
import { CLASSIFICATIONS } from '../../domain/settlements/reconcile.js'
import { SettlementFormat } from '../../settlements/read-rows.js'

/** A settlement id: `stl_` followed by a ULID. */
export const SettlementIdSchema = Type.String({ pattern: SETTLEMENT_ID_PATTERN, description: '`stl_` followed by a ULID.' })

/** One classification of a settlement row. */
export const ClassificationSchema = Type.Union(CLASSIFICATIONS.map((classification) => Type.Literal(classification)))

/** One settlement file's reconciliation, updated as it goes. */
export const SettlementSchema = Type.Object({
  id: SettlementIdSchema,
  provider: Type.String({ description: 'From the key: settlements/<provider>/...' }),
  fileKey: Type.String(),
  status: Type.Union([Type.Literal('awaiting_upload'), Type.Literal('expired'), Type.Literal('processing'), Type.Literal('completed'), Type.Literal('failed')], {
    description: 'awaiting_upload: made by POST /v1/settlements, no file yet; expired: no file came within an hour of uploadExpiresAt (it stays expired; a file put later gets a settlement of its own).'
  }),
  rowsProcessed: Type.Integer({ minimum: 0 }),
  counts: Type.Object(Object.fromEntries(CLASSIFICATIONS.map((classification) => [classification, Type.Integer({ minimum: 0 })]))),
  totals: Type.Array(Type.Object({
    currency: Type.String(),
    gross: Type.Integer({ description: 'Charges less refunds, in minor units.' }),
    fee: Type.Integer(),
    net: Type.Integer()
  }), { description: 'Of the readable, first-seen rows, per currency.' }),
  reportKey: Type.Optional(Type.String({ description: 'Where the report of every discrepancy is in the settlement bucket (reports/<id>.csv), once completed.' })),
  startedAt: Type.String({ format: 'date-time' }),
  uploadExpiresAt: Type.Optional(Type.String({ format: 'date-time', description: 'For a settlement made by POST /v1/settlements: when its upload URL expires.' })),
  completedAt: Type.Optional(Type.String({ format: 'date-time' })),
  error: Type.Optional(Type.String({ description: 'Why a failed file could not be reconciled (the missing columns, a bad encoding).' }))
})

/** The providers whose files paylith reads, as `POST /v1/settlements` takes them. */
export const SettlementProviderSchema = Type.Union(Object.values(SettlementFormat).map((format) => Type.Literal(format)))

/** A file name an upload may have: no folders, no `..`, a `.csv` or `.csv.gz` ending. */
export const SETTLEMENT_FILE_NAME_PATTERN = '^(?!.*\\.\\.)[A-Za-z0-9][A-Za-z0-9._ -]{0,195}\\.csv(\\.gz)?$'

/** `POST /v1/settlements`: which provider's file is coming, and its name. */
export const NewSettlementSchema = Type.Object({
  provider: SettlementProviderSchema,
  fileName: Type.String({ pattern: SETTLEMENT_FILE_NAME_PATTERN, maxLength: 200, description: 'The file\'s name, without folders or `..`, ending in `.csv` or `.csv.gz` (gzipped).' })
}, { additionalProperties: false })

/** A settlement waiting for its file, with where to PUT it. */
export const SettlementUploadSchema = Type.Object({
  id: SettlementIdSchema,
  status: Type.Literal('awaiting_upload'),
  fileKey: Type.String({ description: 'Where the file goes in the settlement bucket: settlements/<provider>/<id>/<fileName>.' }),
  uploadUrl: Type.String({ description: 'A presigned S3 URL: PUT the file\'s bytes to it (no other headers needed) within 15 minutes.' }),
  expiresAt: Type.String({ format: 'date-time' })
})

/** The body of `POST /v1/settlements`. */
export type NewSettlement = Static<typeof NewSettlementSchema>

/** A row that is not `matched`. */
export const DiscrepancySchema = Type.Object({
  line: Type.Integer({ minimum: 1, description: 'The file\'s line (the header is line 1).' }),
  classification: ClassificationSchema,
  reason: Type.Optional(Type.String()),
  file: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number()]), { description: 'What the file said.' }),
  paylith: Type.Optional(Type.Object({
    paymentId: Type.String(),
    amount: Type.Integer(),
    currency: Type.String(),
    status: Type.String()
  }, { description: 'What paylith has, when the row names a payment it knows.' }))
})

/** A settlement as the API answers it. */
export type SettlementBody = Static<typeof SettlementSchema>
