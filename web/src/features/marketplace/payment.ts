/**
 * The card step of a purchase. Production: Stripe.js's Payment Element, loaded
 * from js.stripe.com as Stripe requires. Development and tests: the same
 * confirmation Stripe.js sends (publishable key + client_secret + the typed card,
 * form-encoded) straight to the Stripe sandbox (`stripe_mode: "sandbox"`).
 */
import type { ClientConfig } from '@/api/types'

export interface CardInput {
  number: string
  expiry: string // MM/YY or MM/YYYY
  cvc: string
}

export class CardError extends Error {
  constructor(
    message: string,
    readonly code: string | null = null,
    readonly param: string | null = null,
  ) {
    super(message)
    this.name = 'CardError'
  }
}

/** `pi_123_secret_abc` → `pi_123`. */
export function paymentIntentId(clientSecret: string): string {
  const i = clientSecret.indexOf('_secret_')
  if (i <= 0) throw new CardError('The payment could not be started (bad client secret).')
  return clientSecret.slice(0, i)
}

/** `04/29` or `4 / 2029` → month 4, year 2029; `null` when it is not a date. */
export function parseExpiry(text: string): { month: number; year: number } | null {
  const m = /^\s*(\d{1,2})\s*\/\s*(\d{2}|\d{4})\s*$/.exec(text)
  if (!m) return null
  const month = Number(m[1])
  let year = Number(m[2])
  if (year < 100) year += 2000
  if (month < 1 || month > 12) return null
  return { month, year }
}

/** Problems a person can fix before anything is sent, keyed by field. */
export function validateCard(card: CardInput, now = new Date()): Partial<Record<keyof CardInput, string>> {
  const errors: Partial<Record<keyof CardInput, string>> = {}
  const digits = card.number.replace(/[\s-]/g, '')
  if (!/^\d{12,19}$/.test(digits)) errors.number = 'Enter the 12–19 digits of the card number.'
  const exp = parseExpiry(card.expiry)
  if (!exp) errors.expiry = 'Enter the expiry as MM/YY.'
  else if (exp.year < now.getFullYear() || (exp.year === now.getFullYear() && exp.month < now.getMonth() + 1))
    errors.expiry = 'This card has expired.'
  if (!/^\d{3,4}$/.test(card.cvc.trim())) errors.cvc = 'Enter the 3 or 4 digit security code.'
  return errors
}

/** The form body Stripe.js sends to confirm a PaymentIntent with a typed card. */
export function confirmBody(publishableKey: string, clientSecret: string, card: CardInput): URLSearchParams {
  const exp = parseExpiry(card.expiry)
  const body = new URLSearchParams()
  body.set('key', publishableKey)
  body.set('client_secret', clientSecret)
  body.set('payment_method_data[type]', 'card')
  body.set('payment_method_data[card][number]', card.number.replace(/[\s-]/g, ''))
  body.set('payment_method_data[card][exp_month]', String(exp?.month ?? ''))
  body.set('payment_method_data[card][exp_year]', String(exp?.year ?? ''))
  body.set('payment_method_data[card][cvc]', card.cvc.trim())
  return body
}

const FIELD_OF_PARAM: Record<string, keyof CardInput> = {
  'payment_method_data[card][number]': 'number',
  'payment_method_data[card][exp_month]': 'expiry',
  'payment_method_data[card][exp_year]': 'expiry',
  'payment_method_data[card][cvc]': 'cvc',
}

export function cardFieldOf(err: CardError): keyof CardInput | null {
  if (err.param && FIELD_OF_PARAM[err.param]) return FIELD_OF_PARAM[err.param]!
  if (err.code === 'incorrect_number' || err.code === 'invalid_number') return 'number'
  if (err.code === 'invalid_expiry_month' || err.code === 'invalid_expiry_year' || err.code === 'expired_card') return 'expiry'
  if (err.code === 'incorrect_cvc' || err.code === 'invalid_cvc') return 'cvc'
  return null
}

/** Confirm against the Stripe sandbox; resolves to the intent's status or throws CardError. */
export async function confirmInSandbox(
  cfg: Pick<ClientConfig, 'stripe_api_base' | 'stripe_publishable_key'>,
  clientSecret: string,
  card: CardInput,
  fetchImpl: typeof fetch = (...a) => globalThis.fetch(...a),
): Promise<string> {
  const url = `${cfg.stripe_api_base.replace(/\/$/, '')}/v1/payment_intents/${paymentIntentId(clientSecret)}/confirm`
  let res: Response
  try {
    res = await fetchImpl(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: confirmBody(cfg.stripe_publishable_key, clientSecret, card).toString(),
    })
  } catch {
    throw new CardError('Could not reach the payment service. Check your connection and try again.')
  }
  const body = (await res.json().catch(() => ({}))) as {
    status?: string
    error?: { message?: string; code?: string; decline_code?: string; param?: string }
  }
  if (!res.ok || body.error) {
    const e = body.error ?? {}
    throw new CardError(e.message ?? `The payment was not accepted (${res.status}).`, e.code ?? null, e.param ?? null)
  }
  return body.status ?? 'unknown'
}

// ---- Stripe.js (production) ---------------------------------------------------------

export interface StripeJs {
  elements(opts: { clientSecret: string }): { create(kind: 'payment'): { mount(el: HTMLElement): void; destroy(): void } }
  confirmPayment(opts: { elements: unknown; redirect: 'if_required'; confirmParams?: { return_url?: string } }): Promise<{
    error?: { message?: string; code?: string }
    paymentIntent?: { status: string }
  }>
}

let stripeScript: Promise<(key: string) => StripeJs> | null = null

/** Load https://js.stripe.com/v3 once (Stripe requires it from their domain, never bundled). */
export function loadStripeJs(): Promise<(key: string) => StripeJs> {
  const w = window as unknown as { Stripe?: (key: string) => StripeJs }
  if (w.Stripe) return Promise.resolve(w.Stripe)
  if (!stripeScript) {
    stripeScript = new Promise((resolve, reject) => {
      const s = document.createElement('script')
      s.src = 'https://js.stripe.com/v3'
      s.async = true
      s.onload = () => (w.Stripe ? resolve(w.Stripe) : reject(new Error('Stripe.js did not load')))
      s.onerror = () => {
        stripeScript = null
        reject(new Error('Stripe.js could not be loaded. Check your connection or content blockers.'))
      }
      document.head.appendChild(s)
    })
  }
  return stripeScript
}
