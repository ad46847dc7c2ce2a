/** Marketplace filters (kept in the URL) → the listings route's parameters, and the
 * same filters as a saved search's criteria (the API takes the same fields). */
import type { Query } from '@/api/http'
import type { SavedSearchIn, Stage } from '@/api/types'
import { STAGES } from '@/api/types'
import { enumLabel, parseMoneyToCents } from '@/lib/format'

export const LISTING_FILTER_DEFAULTS = { industry: '', size: '', location: '', budget: '', price: '', stage: '', age: '' }
export type ListingFilters = typeof LISTING_FILTER_DEFAULTS
export type Criteria = NonNullable<SavedSearchIn['criteria']>

/** "Listed within": the maximum age in whole days (0: listed today). */
export const AGE_OPTIONS = [
  { value: '0', label: 'Listed today' },
  { value: '3', label: 'Last 3 days' },
  { value: '7', label: 'Last 7 days' },
  { value: '14', label: 'Last 14 days' },
  { value: '30', label: 'Last 30 days' },
]
export const STAGE_OPTIONS = STAGES.map((s) => ({ value: s, label: enumLabel(s) }))

/** The stage filter, if it names a stage (a hand-edited URL may not). */
function stageOf(f: ListingFilters): Stage | undefined {
  return (STAGES as string[]).includes(f.stage) ? (f.stage as Stage) : undefined
}

/** The age filter as whole days, if it is one (0–3650, what the API accepts). */
export function maxAgeDays(f: ListingFilters): number | undefined {
  if (!/^\d{1,4}$/.test(f.age.trim())) return undefined
  const days = Number(f.age.trim())
  return days <= 3650 ? days : undefined
}

export function listingQuery(f: ListingFilters): Query {
  const budget = parseMoneyToCents(f.budget)
  const price = parseMoneyToCents(f.price)
  return {
    industry: f.industry.trim() || undefined,
    company_size: f.size || undefined,
    location: f.location.trim() || undefined,
    budget_min: typeof budget === 'number' ? budget : undefined,
    price_max: typeof price === 'number' ? price : undefined,
    stage: stageOf(f),
    max_age_days: maxAgeDays(f),
  }
}

/** The filters as a saved search's criteria: exactly what the listings page shows. */
export function listingCriteria(f: ListingFilters): Criteria {
  const q = listingQuery(f)
  return {
    industry: (q.industry as string | undefined) ?? null,
    company_size: (q.company_size as Criteria['company_size'] | undefined) ?? null,
    location: (q.location as string | undefined) ?? null,
    budget_min: (q.budget_min as number | undefined) ?? null,
    price_max: (q.price_max as number | undefined) ?? null,
    stage: (q.stage as Stage | undefined) ?? null,
    max_age_days: (q.max_age_days as number | undefined) ?? null,
  }
}

/** A saved search's default name: its filters in words. */
export function criteriaName(c: Criteria): string {
  const age = c.max_age_days == null ? null : c.max_age_days === 0 ? 'listed today' : `listed within ${c.max_age_days} days`
  return [c.industry, c.company_size, c.location, c.stage ? enumLabel(c.stage) : null, age].filter(Boolean).join(', ') || 'All listings'
}

/** Amount fields that are not amounts, by filter name. */
export function listingFilterErrors(f: ListingFilters): Partial<Record<keyof ListingFilters, string>> {
  const out: Partial<Record<keyof ListingFilters, string>> = {}
  if (parseMoneyToCents(f.budget) === undefined) out.budget = 'Enter an amount, e.g. 5000.'
  if (parseMoneyToCents(f.price) === undefined) out.price = 'Enter an amount, e.g. 500.'
  return out
}

/** Days a buyer may hold a lead (pc_core.marketplace.reservations). */
export const RESERVATION_DAYS = [7, 8, 9, 10, 11, 12, 13, 14]
