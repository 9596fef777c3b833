import { GetObjectCommand, ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3'
import t from 'tap'
import { s3ClientOptions, s3SettlementFiles } from '../../src/aws/s3.js'
import { build } from '../helpers/build.js'

t.test('a report larger than a part is written as a streamed multipart upload, and reads back whole', async (t) => {
  const built = await build(t)
  const files = s3SettlementFiles(built.config)
  const s3 = new S3Client(s3ClientOptions(built.config))
  t.teardown(() => s3.destroy())
  const line = `${'x'.repeat(99)}\n`
  const lines = 70_000 // 7 MB: two parts
  let produced = 0
  async function * text (): AsyncGenerator<string> {
    for (let index = 0; index < lines; index += 1_000) {
      produced += 1_000
      yield line.repeat(1_000)
    }
  }
  await files.write('reports/big.csv', text(), 'text/csv')
  t.equal(produced, lines)
  const { Body, ContentLength, ETag } = await s3.send(new GetObjectCommand({ Bucket: built.config.settlements.bucketName, Key: 'reports/big.csv' }))
  t.equal(ContentLength, line.length * lines)
  t.match(ETag, /-2"?$/, 'uploaded in two parts (a multipart object\'s ETag ends with its part count)')
  t.equal((await Body?.transformToString())?.length, line.length * lines)
})

t.test('a report that fails while it is produced is aborted: no upload is left open', async (t) => {
  const built = await build(t)
  const files = s3SettlementFiles(built.config)
  const s3 = new S3Client(s3ClientOptions(built.config))
  t.teardown(() => s3.destroy())
  async function * failing (): AsyncGenerator<string> {
    for (let index = 0; index < 6; index++) yield 'y'.repeat(1024 * 1024)
    throw new Error('the table went away (injected by the test)')
  }
  await t.rejects(files.write('reports/failed.csv', failing(), 'text/csv'), /the table went away/)
  const { Uploads } = await s3.send(new ListMultipartUploadsCommand({ Bucket: built.config.settlements.bucketName }))
  t.same(Uploads ?? [], [], 'the multipart upload was aborted')
})
