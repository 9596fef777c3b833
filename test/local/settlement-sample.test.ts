import { join } from 'node:path'
import t from 'tap'
import { sampleLines, type SampleCounts } from '../../src/local/settlement-sample.js'
import { emptyCounts } from '../../src/domain/settlements/reconcile.js'
import type { Settlement } from '../../src/store/settlements.js'
import { build, type Built } from '../helpers/build.js'
import { storePayment } from '../helpers/payments.js'
import { runScript } from '../helpers/scripts.js'
import { tempDir } from '../helpers/temp-dir.js'
import { waitFor } from '../helpers/wait.js'
import { pollSettlements } from '../helpers/settlements.js'

async function withPayments (built: Built): Promise<void> {
  const { deps } = built
  for (let index = 0; index < 6; index++) await deps.payments.transition(await storePayment(deps, { amount: 1000 + index * 111 }), 'succeeded', { providerRef: `pi_sample_${index}` })
  for (let index = 0; index < 2; index++) {
    const succeeded = await deps.payments.transition(await storePayment(deps, { amount: 500 + index }), 'succeeded')
    await deps.payments.transition(succeeded, 'refunded')
  }
  await storePayment(deps, { amount: 999 })
}

t.test('the sample lists every settled payment, plants K discrepancies, and what it says it wrote is what the reconciliation finds', async (t) => {
  const built = await build(t)
  await withPayments(built)
  pollSettlements(t, built, { invocationTimeoutMs: 60_000 })
  const dir = tempDir('paylith-sample-')
  const env = {
    ...process.env,
    AWS_ENDPOINT_URL: built.config.aws.endpoint,
    ...(built.config.aws.dynamodbEndpoint !== undefined && { AWS_ENDPOINT_URL_DYNAMODB: built.config.aws.dynamodbEndpoint }),
    TABLE_NAME: built.config.tableName,
    SETTLEMENT_BUCKET_NAME: built.config.settlements.bucketName
  }
  for (const [provider, extra] of [['generic', []], ['stripe', ['--gzip']]] as const) {
    const out = join(dir, `sample-${provider}.csv${extra.length > 0 ? '.gz' : ''}`)
    const run = await runScript('settlement-sample.ts', ['--rows', '30', '--discrepancies', '6', '--provider', provider, '--out', out, '--upload', ...extra], env, 60_000)
    t.equal(run.code, 0, run.stderr)
    const printed = JSON.parse(run.stdout) as { expected: SampleCounts, paymentsInTable: number, uploaded: string }
    t.equal(printed.paymentsInTable, 9)
    t.same(printed.expected, { matched: 10, amount_mismatch: 1, currency_mismatch: 1, status_mismatch: 1, unknown_payment: 30 - 10 - 5, duplicate_row: 1, malformed_row: 1, not_reconciled: 0 }, `${provider}: 6 succeeded + 2 refunded (charge and refund), 6 planted, the rest unknown`)
    const settlement = await waitFor(`the ${provider} sample to be reconciled`, async () => {
      const { settlements } = await built.deps.settlements.list({ limit: 10 })
      return settlements.find((s: Settlement) => s.provider === provider && s.status === 'completed')
    }, { timeoutMs: 30_000 })
    t.same(settlement.counts, printed.expected, `${provider}: the reconciliation finds what the sample says it wrote`)
  }
})

t.test('with more discrepancies than kinds they cycle, and with no payments every row is a payment paylith does not know', async (t) => {
  const counts = emptyCounts()
  const lines = [...sampleLines([], { rows: 12, discrepancies: 12, provider: 'generic' }, counts)]
  t.equal(lines.length, 13)
  t.same(counts, { ...emptyCounts(), unknown_payment: 10, malformed_row: 2 }, 'without payments only malformed rows can be planted; the rest are unknown')
})
