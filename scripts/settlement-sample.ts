import { createReadStream, createWriteStream } from 'node:fs'
import { basename } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { parseArgs } from 'node:util'
import { createGzip } from 'node:zlib'
import { S3Client } from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { createAwsClients } from '../src/local/clients.js'
import { s3ClientOptions } from '../src/aws/s3.js'
import { SETTLEMENT_BUCKET } from '../src/aws/resources.js'
import { loadConfig } from '../src/config/load.js'
import { emptyCounts } from '../src/domain/settlements/reconcile.js'
import { paymentsInTable, sampleLines } from '../src/local/settlement-sample.js'
import { isSettlementFormat } from '../src/settlements/read-rows.js'

// `npm run settlement:sample -- --rows N [--discrepancies K] [--provider generic|stripe] [--out FILE] [--gzip] [--upload]`:
// writes a settlement file for the payments in the table (npm start's, with the endpoints its
// banner prints) and, with --upload, puts it into the settlement bucket, which starts its reconciliation.
const USAGE = 'usage: npm run settlement:sample -- --rows N [--discrepancies K] [--provider generic|stripe] [--out FILE] [--gzip] [--upload]'

const { values } = parseArgs({
  options: {
    rows: { type: 'string' },
    discrepancies: { type: 'string', default: '0' },
    provider: { type: 'string', default: 'generic' },
    out: { type: 'string' },
    gzip: { type: 'boolean', default: false },
    upload: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false }
  }
})
const rows = Number(values.rows)
const discrepancies = Number(values.discrepancies)
const provider = values.provider ?? 'generic'
if (values.help === true || !Number.isInteger(rows) || rows < 0 || !Number.isInteger(discrepancies) || discrepancies < 0 || discrepancies > rows || !isSettlementFormat(provider)) {
  process.stderr.write(`${USAGE}\n`)
  process.exit(values.help === true ? 0 : 2)
}
const config = loadConfig({ LOG_LEVEL: 'silent', ...process.env })
const out = values.out ?? `settlement-${provider}-${rows}.csv${values.gzip === true ? '.gz' : ''}`
const { dynamodb } = createAwsClients(config)
const started = Date.now()
const payments = await paymentsInTable(dynamodb, config.tableName, rows)
const counts = emptyCounts()
const text = Readable.from(sampleLines(payments, { rows, discrepancies, provider }, counts), { objectMode: false })
if (values.gzip === true) {
  await pipeline(text, createGzip(), createWriteStream(out))
} else {
  await pipeline(text, createWriteStream(out))
}
const written = Date.now() - started
let key: string | undefined
if (values.upload === true) {
  key = `${SETTLEMENT_BUCKET.filesPrefix}${provider}/${basename(out)}`
  const s3 = new S3Client(s3ClientOptions(config))
  await new Upload({ client: s3, params: { Bucket: config.settlements.bucketName, Key: key, Body: createReadStream(out) } }).done()
  s3.destroy()
}
dynamodb.destroy()
process.stdout.write(`${JSON.stringify({ file: out, rows, provider, paymentsInTable: payments.length, expected: counts, writtenMs: written, ...(key !== undefined && { uploaded: `s3://${config.settlements.bucketName}/${key}`, uploadMs: Date.now() - started - written }) }, null, 2)}\n`)
