/** The lead list's filters (kept in the URL) → the API's query parameters. */
import type { Query } from '@/api/http'

export const LEAD_FILTER_DEFAULTS = { status: '', stage: '', q: '', from: '', to: '', origin: '' }
export type LeadFilters = typeof LEAD_FILTER_DEFAULTS

/** `YYYY-MM-DD` (a date input) → the start of that day in the viewer's zone, as ISO. */
export function startOfLocalDay(date: string): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date)
  if (!m) return undefined
  return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])).toISOString()
}

/** The end of that local day (the next day's start), so "to" includes the whole day. */
export function endOfLocalDay(date: string): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date)
  if (!m) return undefined
  return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + 1).toISOString()
}

export function leadQuery(f: LeadFilters): Query {
  return {
    status: f.status || undefined,
    stage: f.stage || undefined,
    q: f.q.trim() || undefined,
    created_from: f.from ? startOfLocalDay(f.from) : undefined,
    created_to: f.to ? endOfLocalDay(f.to) : undefined,
    origin: ORIGINS.includes(f.origin) ? f.origin : undefined,
  }
}

/** The API's `origin`: mine (the default, left out of the URL), bought, or both. */
export const ORIGINS = ['purchased', 'all']
export const ORIGIN_OPTIONS = [
  { value: 'purchased', label: 'Bought' },
  { value: 'all', label: 'Mine and bought' },
]

/** A date range that ends before it starts is a mistake worth naming. */
export function rangeError(f: LeadFilters): string | null {
  return f.from && f.to && f.from > f.to ? 'The "to" date is before the "from" date.' : null
}
