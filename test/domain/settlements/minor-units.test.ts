import fc from 'fast-check'
import t from 'tap'
import { currencyExponent } from '../../../src/domain/currencies.js'
import { toMinorUnits } from '../../../src/domain/settlements/minor-units.js'

t.test('decimal major units become integer minor units by the currency\'s ISO 4217 exponent', async (t) => {
  t.equal(toMinorUnits('10.50', 'EUR'), 1050)
  t.equal(toMinorUnits('-3', 'USD'), -300)
  t.equal(toMinorUnits('0.1', 'USD'), 10)
  t.equal(toMinorUnits('1000', 'JPY'), 1000, 'JPY has no minor unit')
  t.equal(toMinorUnits('1000.00', 'JPY'), 1000, 'trailing zeros say nothing')
  t.equal(toMinorUnits('1.234', 'KWD'), 1234, 'KWD has three decimals')
  t.equal(toMinorUnits(' 19.99 ', 'GBP'), 1999)
})

t.test('what is not an exact amount of the currency is refused, not rounded', async (t) => {
  t.equal(toMinorUnits('10.005', 'EUR'), undefined)
  t.equal(toMinorUnits('1000.5', 'JPY'), undefined)
  t.equal(toMinorUnits('1e3', 'EUR'), undefined)
  t.equal(toMinorUnits('', 'EUR'), undefined)
  t.equal(toMinorUnits('1,50', 'EUR'), undefined)
  t.equal(toMinorUnits('999999999999999', 'KWD'), undefined, 'beyond exact integers')
})

t.test('no floating point: every two-decimal amount converts exactly', async (t) => {
  fc.assert(fc.property(fc.integer({ min: -1e12, max: 1e12 }), (minor) => {
    const text = `${minor < 0 ? '-' : ''}${Math.floor(Math.abs(minor) / 100)}.${String(Math.abs(minor) % 100).padStart(2, '0')}`
    return toMinorUnits(text, 'EUR') === minor
  }))
  t.equal(currencyExponent('EUR'), 2)
  t.equal(currencyExponent('CLP'), 0)
})
