/**
 * Filters kept in the URL's query string, so a filtered list can be bookmarked,
 * shared and restored with Back. Only string filters; defaults are left out of
 * the URL so a clean list has a clean address.
 */
import { computed } from 'vue'
import { useRoute, useRouter, type LocationQuery, type LocationQueryRaw } from 'vue-router'

export type FilterSpec = Record<string, string>

/** The filters a query string describes; unknown keys are ignored. */
export function filtersFromQuery<T extends FilterSpec>(query: LocationQuery, defaults: T): T {
  const out = { ...defaults }
  for (const key of Object.keys(defaults) as (keyof T & string)[]) {
    const raw = query[key]
    const value = Array.isArray(raw) ? raw[0] : raw
    if (typeof value === 'string') (out as FilterSpec)[key] = value
  }
  return out
}

/**
 * The query string for `filters`, keeping keys that are not filters (e.g. a
 * drawer's `lead` id) and dropping filters equal to their default.
 */
export function queryFromFilters<T extends FilterSpec>(
  filters: Partial<T>,
  defaults: T,
  keep: LocationQuery = {},
): LocationQueryRaw {
  const out: LocationQueryRaw = {}
  for (const [k, v] of Object.entries(keep)) if (!(k in defaults)) out[k] = v
  for (const key of Object.keys(defaults)) {
    const value = (filters as FilterSpec)[key]
    if (value !== undefined && value !== '' && value !== defaults[key]) out[key] = value
  }
  return out
}

/** Reactive filters bound to the current route's query. */
export function useUrlFilters<T extends FilterSpec>(defaults: T) {
  const route = useRoute()
  const router = useRouter()
  const filters = computed(() => filtersFromQuery(route.query, defaults))
  const active = computed(() =>
    (Object.keys(defaults) as (keyof T)[]).filter((k) => filters.value[k] !== defaults[k]),
  )

  function set(patch: Partial<T>) {
    const next = { ...filters.value, ...patch }
    return router.replace({ query: queryFromFilters(next, defaults, route.query) })
  }

  function clear() {
    return router.replace({ query: queryFromFilters({}, defaults, route.query) })
  }

  return { filters, active, set, clear }
}
