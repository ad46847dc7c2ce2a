/** The routing-rules form ↔ the API's RoutingConfig. Lists are typed comma-separated. */
import type { CompanySize, RoutingConfig } from '@/api/types'
import { centsToInput, parseMoneyToCents } from '@/lib/format'

export interface RoutingForm {
  meeting_types: string
  company_size_min: string
  company_size_max: string
  budget_min: string
  locations: string
  industries: string
  weight: string
  monthly_cap: string
}

export const splitList = (s: string) => s.split(',').map((v) => v.trim()).filter(Boolean)

export function formOf(c: RoutingConfig): RoutingForm {
  return {
    meeting_types: (c.meeting_types ?? []).join(', '),
    company_size_min: c.company_size_min ?? '',
    company_size_max: c.company_size_max ?? '',
    budget_min: centsToInput(c.budget_min_cents),
    locations: (c.locations ?? []).join(', '),
    industries: (c.industries ?? []).join(', '),
    weight: String(c.weight ?? 1),
    monthly_cap: c.monthly_cap === null || c.monthly_cap === undefined ? '' : String(c.monthly_cap),
  }
}

/** The body to PUT, or the errors to show next to the fields. */
export function configOf(f: RoutingForm): { config?: RoutingConfig; errors: Partial<Record<keyof RoutingForm, string>> } {
  const errors: Partial<Record<keyof RoutingForm, string>> = {}
  const budget = parseMoneyToCents(f.budget_min)
  if (budget === undefined) errors.budget_min = 'Enter an amount, e.g. 5000.'
  const weight = Number(f.weight)
  if (!Number.isInteger(weight) || weight < 1 || weight > 1000) errors.weight = 'A whole number from 1 to 1000.'
  let cap: number | null = null
  if (f.monthly_cap.trim() !== '') {
    cap = Number(f.monthly_cap)
    if (!Number.isInteger(cap) || cap < 0) errors.monthly_cap = 'A whole number, 0 or more (empty: no cap).'
  }
  if (Object.keys(errors).length) return { errors }
  return {
    errors,
    config: {
      meeting_types: splitList(f.meeting_types),
      company_size_min: (f.company_size_min || null) as CompanySize | null,
      company_size_max: (f.company_size_max || null) as CompanySize | null,
      budget_min_cents: budget ?? null,
      locations: splitList(f.locations),
      industries: splitList(f.industries),
      weight,
      monthly_cap: cap,
    },
  }
}
