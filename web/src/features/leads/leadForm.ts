/**
 * The lead form's values (strings, as inputs hold them) ↔ the API's bodies. The
 * rules (required title, lengths, e-mail, sizes, money ≥ 0) are the API's: the form
 * sends what was typed and shows the API's per-field answer; only money is parsed
 * here, because "1,250.50" must become cents before it can be sent at all.
 */
import type { Lead, LeadUpdate } from '@/api/types'
import { centsToInput, parseMoneyToCents } from '@/lib/format'

export const TEXT_FIELDS = ['title', 'company', 'contact_name', 'contact_email', 'contact_phone', 'industry', 'location'] as const
export const MONEY_FIELDS = ['budget_cents', 'amount_cents', 'price_cents'] as const
export type TextField = (typeof TEXT_FIELDS)[number]
export type MoneyField = (typeof MONEY_FIELDS)[number]

export type LeadFormValues = Record<TextField | MoneyField | 'company_size' | 'stage', string>

export function emptyLeadForm(): LeadFormValues {
  return {
    title: '', company: '', contact_name: '', contact_email: '', contact_phone: '', industry: '', location: '',
    budget_cents: '', amount_cents: '', price_cents: '', company_size: '', stage: 'new',
  }
}

export function leadFormFrom(lead: Lead): LeadFormValues {
  const out = emptyLeadForm()
  for (const f of TEXT_FIELDS) out[f] = lead[f] ?? ''
  for (const f of MONEY_FIELDS) out[f] = centsToInput(lead[f])
  out.company_size = lead.company_size ?? ''
  out.stage = lead.stage
  return out
}

/**
 * What an edit of `lead` is decided on: the form's fields and the marketplace status
 * (the buttons beside the form). Two versions with the same view differ only in what
 * the edit does not touch (notes, sync times, meetings), so an edit made on one holds
 * on the other; the lead page takes the newer ETag then (`rebase`).
 */
export function editedView(lead: Lead): string {
  return JSON.stringify({ ...leadFormFrom(lead), status: lead.status })
}

export interface Parsed {
  body: Record<string, string | number | null>
  errors: Record<string, string>
}

const MONEY_HINT = 'Enter an amount like 1250 or 1,250.50.'

/** Every field as the API takes it (blank → null); money that is not an amount is an error. */
export function bodyFromForm(values: LeadFormValues): Parsed {
  const body: Record<string, string | number | null> = {}
  const errors: Record<string, string> = {}
  for (const f of TEXT_FIELDS) body[f] = values[f].trim() === '' && f !== 'title' ? null : values[f]
  for (const f of MONEY_FIELDS) {
    const cents = parseMoneyToCents(values[f])
    if (cents === undefined) errors[f] = MONEY_HINT
    else body[f] = cents
  }
  body.company_size = values.company_size || null
  body.stage = values.stage
  return { body, errors }
}

/** Only what changed since `lead`: an edit never rewrites fields nobody touched. */
export function changesFrom(lead: Lead, values: LeadFormValues): Parsed {
  const { body, errors } = bodyFromForm(values)
  const changes: Record<string, string | number | null> = {}
  for (const [k, v] of Object.entries(body)) {
    const current = (lead as unknown as Record<string, unknown>)[k] ?? null
    if (v !== current) changes[k] = v
  }
  return { body: changes as LeadUpdate as Record<string, string | number | null>, errors }
}
