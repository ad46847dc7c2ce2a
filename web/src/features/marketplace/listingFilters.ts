/** Marketplace filters (kept in the URL) → the listings route's parameters. */
import type { Query } from '@/api/http'
import { parseMoneyToCents } from '@/lib/format'

export const LISTING_FILTER_DEFAULTS = { industry: '', size: '', location: '', budget: '', price: '' }
export type ListingFilters = typeof LISTING_FILTER_DEFAULTS

export function listingQuery(f: ListingFilters): Query {
  const budget = parseMoneyToCents(f.budget)
  const price = parseMoneyToCents(f.price)
  return {
    industry: f.industry.trim() || undefined,
    company_size: f.size || undefined,
    location: f.location.trim() || undefined,
    budget_min: typeof budget === 'number' ? budget : undefined,
    price_max: typeof price === 'number' ? price : undefined,
  }
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
