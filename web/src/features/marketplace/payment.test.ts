import { describe, expect, it, vi } from 'vitest'
import { CardError, cardFieldOf, confirmBody, confirmInSandbox, parseExpiry, paymentIntentId, validateCard } from './payment'

describe('card step', () => {
  it('finds the PaymentIntent id in the client secret', () => {
    expect(paymentIntentId('pi_3Abc_secret_xyz')).toBe('pi_3Abc')
    expect(() => paymentIntentId('nonsense')).toThrow(CardError)
  })

  it('reads expiry dates', () => {
    expect(parseExpiry('04/29')).toEqual({ month: 4, year: 2029 })
    expect(parseExpiry(' 12 / 2031 ')).toEqual({ month: 12, year: 2031 })
    expect(parseExpiry('13/29')).toBeNull()
    expect(parseExpiry('0429')).toBeNull()
  })

  it('validates before sending', () => {
    const now = new Date(2026, 5, 15)
    expect(validateCard({ number: '4242 4242 4242 4242', expiry: '12/30', cvc: '123' }, now)).toEqual({})
    expect(validateCard({ number: '4242', expiry: '05/26', cvc: '1' }, now)).toEqual({
      number: expect.any(String),
      expiry: 'This card has expired.',
      cvc: expect.any(String),
    })
  })

  it('sends what Stripe.js sends', () => {
    const b = confirmBody('pk_test', 'pi_1_secret_2', { number: '4242 4242 4242 4242', expiry: '04/29', cvc: '123' })
    expect(Object.fromEntries(b)).toEqual({
      key: 'pk_test',
      client_secret: 'pi_1_secret_2',
      'payment_method_data[type]': 'card',
      'payment_method_data[card][number]': '4242424242424242',
      'payment_method_data[card][exp_month]': '4',
      'payment_method_data[card][exp_year]': '2029',
      'payment_method_data[card][cvc]': '123',
    })
  })

  it('confirms against the sandbox and reports a decline in Stripe\'s words', async () => {
    const cfg = { stripe_api_base: 'http://sb/stripe/', stripe_publishable_key: 'pk' }
    const card = { number: '4000000000000002', expiry: '04/29', cvc: '123' }
    const ok = vi.fn(async () => new Response(JSON.stringify({ status: 'succeeded' }), { status: 200 }))
    await expect(confirmInSandbox(cfg, 'pi_1_secret_2', card, ok as never)).resolves.toBe('succeeded')
    expect((ok.mock.calls[0] as unknown[])[0]).toBe('http://sb/stripe/v1/payment_intents/pi_1/confirm')
    const declined = vi.fn(async () =>
      new Response(JSON.stringify({ error: { type: 'card_error', code: 'card_declined', message: 'Your card was declined.' } }), { status: 402 }),
    )
    const err = (await confirmInSandbox(cfg, 'pi_1_secret_2', card, declined as never).catch((e) => e)) as CardError
    expect(err).toBeInstanceOf(CardError)
    expect([err.message, err.code]).toEqual(['Your card was declined.', 'card_declined'])
    expect(cardFieldOf(new CardError('x', 'incorrect_cvc'))).toBe('cvc')
    expect(cardFieldOf(err)).toBeNull()
  })
})
