import t from 'tap'
import { lowestSequenceNumber } from '../../src/lib/sequence-numbers.js'

t.test('sequence numbers are compared as integers, not strings', async (t) => {
  t.equal(lowestSequenceNumber(['20', '100', '9']), '9')
  t.equal(lowestSequenceNumber(['1100000000017454423009', '999999999999999999999']), '999999999999999999999')
  t.equal(lowestSequenceNumber(['1100000000017454423010', '1100000000017454423009']), '1100000000017454423009', 'beyond double precision')
  t.equal(lowestSequenceNumber(['000000000000000000012', '000000000000000000003']), '000000000000000000003', 'zero-padded (DynamoDB Local) comes back as given')
  t.equal(lowestSequenceNumber([]), undefined)
})
