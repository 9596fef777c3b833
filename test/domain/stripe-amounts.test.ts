import t from 'tap'
import { STRIPE_MAX_AMOUNT, fromStripeAmount, stripeAmountProblem, toStripeAmount } from '../../src/domain/stripe-amounts.js'

t.test('ISK: an ISO amount of 5000 kr is sent as 500000, and read back as 5000', async (t) => {
  t.equal(toStripeAmount('ISK', 5000), 500_000)
  t.equal(fromStripeAmount('ISK', 500_000), 5000)
})

t.test('ISK: a fractional króna from Stripe is refused, not rounded', async (t) => {
  t.throws(() => fromStripeAmount('ISK', 500_010), RangeError)
})

t.test('ISK: past 999999 kr Stripe\'s eight digits are exceeded', async (t) => {
  t.equal(toStripeAmount('ISK', 999_999), 99_999_900)
  t.match(stripeAmountProblem('ISK', 1_000_000), /at most 999999 ISK/)
  t.throws(() => toStripeAmount('ISK', 1_000_000), RangeError)
})

for (const currency of ['BHD', 'JOD', 'KWD', 'OMR', 'TND']) {
  t.test(`${currency}: three-decimal amounts are sent as they are when they end in 0, refused otherwise`, async (t) => {
    t.equal(toStripeAmount(currency, 5120), 5120)
    t.equal(fromStripeAmount(currency, 5120), 5120)
    t.match(stripeAmountProblem(currency, 5124), /last digit is 0.*5120 or 5130/)
    t.throws(() => toStripeAmount(currency, 5124), RangeError)
  })
}

for (const [currency, amount] of [['EUR', 1999], ['USD', 1], ['JPY', 500], ['HUF', 123_45], ['TWD', 100], ['UGX', 5000]] as const) {
  t.test(`${currency}: ISO minor units and Stripe's are the same`, async (t) => {
    t.equal(toStripeAmount(currency, amount), amount)
    t.equal(fromStripeAmount(currency, amount), amount)
    t.equal(stripeAmountProblem(currency, amount), undefined)
  })
}

t.test('the largest amount paylith takes is within Stripe\'s eight digits for an ordinary currency', async (t) => {
  t.equal(stripeAmountProblem('EUR', STRIPE_MAX_AMOUNT), undefined)
})

t.test('a non-integer amount is refused', async (t) => {
  t.throws(() => toStripeAmount('EUR', 10.5), RangeError)
  t.throws(() => fromStripeAmount('EUR', 10.5), RangeError)
})
