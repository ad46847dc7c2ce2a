/**
 * Display helpers. The API sends money as integer cents and times as UTC ISO
 * strings; people read them in their own currency format and time zone.
 */

const moneyFormats = new Map<string, Intl.NumberFormat>()

/** `123456, 'usd'` → `$1,234.56` (in the viewer's locale). */
export function formatMoney(
  cents: number | null | undefined,
  currency = 'usd',
  locale?: string,
): string {
  if (cents === null || cents === undefined || Number.isNaN(cents)) return '—'
  const code = (currency || 'usd').toUpperCase()
  const key = `${locale ?? ''}|${code}`
  let fmt = moneyFormats.get(key)
  if (!fmt) {
    fmt = new Intl.NumberFormat(locale, { style: 'currency', currency: code })
    moneyFormats.set(key, fmt)
  }
  // Integer arithmetic until the last step, so 10 cents never become 0.1000000001.
  return fmt.format(cents / 100)
}

/**
 * What a person typed as an amount (`1,234.5`, `$99`, `12`) → integer cents,
 * `null` for an empty field, `undefined` when it is not an amount.
 */
export function parseMoneyToCents(text: string): number | null | undefined {
  const cleaned = text.replace(/[\s$€£,]/g, '')
  if (cleaned === '') return null
  if (!/^\d+(\.\d{0,2})?$/.test(cleaned)) return undefined
  const [whole, frac = ''] = cleaned.split('.')
  return Number(whole) * 100 + Number((frac + '00').slice(0, 2))
}

/** Cents → the plain number a money input shows (`123456` → `1234.56`). */
export function centsToInput(cents: number | null | undefined): string {
  if (cents === null || cents === undefined) return ''
  const whole = Math.trunc(cents / 100)
  const frac = Math.abs(cents % 100)
  return frac ? `${whole}.${String(frac).padStart(2, '0')}` : String(whole)
}

const dateTimeFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })
const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' })

function toDate(value: string | Date | null | undefined): Date | null {
  if (!value) return null
  const d = value instanceof Date ? value : new Date(value)
  return Number.isNaN(d.getTime()) ? null : d
}

/** An absolute date and time in the viewer's time zone. */
export function formatDateTime(value: string | Date | null | undefined): string {
  const d = toDate(value)
  return d ? dateTimeFmt.format(d) : '—'
}

export function formatDate(value: string | Date | null | undefined): string {
  const d = toDate(value)
  return d ? dateFmt.format(d) : '—'
}

const relFmt = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' })
const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['second', 60],
  ['minute', 60],
  ['hour', 24],
  ['day', 7],
]

/** "3 minutes ago" for the last week, the date after that. */
export function formatRelative(
  value: string | Date | null | undefined,
  now: Date = new Date(),
): string {
  const d = toDate(value)
  if (!d) return '—'
  let delta = (d.getTime() - now.getTime()) / 1000
  if (Math.abs(delta) < 45) return 'just now'
  for (const [unit, size] of UNITS) {
    if (Math.abs(delta) < size) return relFmt.format(Math.round(delta), unit)
    delta /= size
  }
  return formatDate(d)
}

/**
 * An enumeration's value as people read it: `INFORMATION_TECHNOLOGY_AND_SERVICES` →
 * `Information technology and services`, `COMPUTER_SOFTWARE` → `Computer software`;
 * `ACCOUNTING` → `Accounting`; text that already reads as words (`SaaS`, `Health
 * care`) and short codes (`US`, `EMEA`) are kept as they are.
 */
export function enumLabel(value: string | null | undefined): string {
  if (!value) return '—'
  const enumLike = /^[A-Z0-9]+(_[A-Z0-9]+)+$/.test(value) || /^[A-Z]{5,}$/.test(value) || /^[a-z0-9]+(_[a-z0-9]+)+$/.test(value)
  if (!enumLike) return value
  const s = value.toLowerCase().replace(/_/g, ' ')
  return s.charAt(0).toUpperCase() + s.slice(1)
}

/**
 * A value the seller's CRM may label (the API's `industry` with its `industry_label`):
 * the CRM's own label when it gave one ("Hospital & Health Care"), else the value
 * made readable (`enumLabel`).
 */
export function valueLabel(value: string | null | undefined, label?: string | null): string {
  return label || enumLabel(value)
}

/** `meeting_scheduled` → `Meeting scheduled`. */
export function humanize(value: string | null | undefined): string {
  if (!value) return '—'
  const s = value.replace(/_/g, ' ')
  return s.charAt(0).toUpperCase() + s.slice(1)
}
