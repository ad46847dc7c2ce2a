/**
 * Query-key factories: the one place a TanStack Query key is spelled. Pages use
 * them to read and update the cache, and the live-event table
 * (`@/realtime/invalidation`) to say what an event makes stale, so a key and the
 * events that refresh it cannot drift apart.
 *
 * Each family has a root (`all`, a prefix that matches every key of the family)
 * and the exact keys the queries use.
 */

export type Key = readonly unknown[]

export const leadKeys = {
  /** Every lead list (any partner, filters, page). */
  lists: () => ['leads'] as const,
  list: (partnerId: string | null, filters: unknown, cursor: string | null, pageSize: number) =>
    ['leads', partnerId, filters, cursor, pageSize] as const,
  /** The owner's list of every partner's leads. */
  platform: (filters: unknown, cursor: string | null) => ['leads', 'platform', filters, cursor] as const,
  /** Every single-lead query. */
  details: () => ['lead'] as const,
  detail: (id: string) => ['lead', id] as const,
  /** What a buyer would pay for the lead at a price. */
  quote: (id: string, priceCents: number | null) => ['lead-quote', id, priceCents] as const,
}

export const partnerKeys = {
  lists: () => ['partners'] as const,
  details: () => ['partner'] as const,
  detail: (id: string | null) => ['partner', id] as const,
  /** Every partner's figures (dashboard). */
  allStats: () => ['stats'] as const,
  stats: (id: string | null) => ['stats', id] as const,
  funnel: (id: string | null) => ['funnel', id] as const,
}

export const listingKeys = {
  all: () => ['listings'] as const,
  page: (filters: unknown, cursor: string | null) => ['listings', filters, cursor] as const,
}

export const reservationKeys = {
  all: () => ['reservations'] as const,
  /** By status filter: `'all'` or a reservation status. */
  list: (status: string) => ['reservations', status] as const,
}

export const purchaseKeys = {
  all: () => ['purchases'] as const,
  /** A named list: the purchases page (`'all'`) or the dashboard's `'recent'`. */
  list: (name: 'all' | 'recent') => ['purchases', name] as const,
}

export const returnKeys = {
  all: () => ['returns'] as const,
  list: (name: 'all') => ['returns', name] as const,
}

export const payoutKeys = {
  all: () => ['payouts'] as const,
  of: (partnerId: string | null) => ['payouts', partnerId] as const,
}

export const knownContactKeys = {
  all: () => ['known-contacts'] as const,
  of: (leadIds: string[]) => ['known-contacts', leadIds] as const,
}

export const hubspotKeys = {
  allStatus: () => ['hubspot-status'] as const,
  status: (partnerId: string | null) => ['hubspot-status', partnerId] as const,
}

export const syncTaskKeys = {
  all: () => ['sync-tasks'] as const,
  history: (partnerId: string | null) => ['sync-tasks', partnerId, 'history'] as const,
  last: (partnerId: string | null) => ['sync-tasks', partnerId, 'last'] as const,
}

export const stageMappingKeys = {
  all: () => ['stage-mapping'] as const,
  of: (partnerId: string | null) => ['stage-mapping', partnerId] as const,
}

export const routingKeys = {
  all: () => ['routing'] as const,
  of: (partnerId: string | null) => ['routing', partnerId] as const,
  allPreviews: () => ['routing-preview'] as const,
  preview: (input: unknown) => ['routing-preview', input] as const,
}

export const meetingKeys = {
  all: () => ['meetings'] as const,
  /** The agenda with its filters, or the dashboard's `'dashboard'` card. */
  agenda: (partnerId: string | null, filters: unknown) => ['meetings', partnerId, filters] as const,
}

export const unassignedKeys = {
  all: () => ['unassigned'] as const,
  page: (cursor: string | null) => ['unassigned', cursor] as const,
}

export const invoiceKeys = {
  lists: () => ['invoices'] as const,
  list: (partnerId: string | null, filters: unknown, cursor: string | null) =>
    ['invoices', partnerId, filters, cursor] as const,
  detail: (id: string) => ['invoice', id] as const,
}

export const userKeys = {
  all: () => ['users'] as const,
  of: (partnerId: string | null) => ['users', partnerId] as const,
}

export const apiTokenKeys = {
  all: () => ['api-tokens'] as const,
  of: (partnerId: string | null) => ['api-tokens', partnerId] as const,
}

export const clientConfigKeys = {
  all: () => ['client-config'] as const,
}

export const searchNoticeKeys = {
  all: () => ['search-notices'] as const,
}

export const savedSearchKeys = {
  all: () => ['saved-searches'] as const,
}

export const priceGuidanceKeys = {
  all: () => ['price-guidance'] as const,
  of: (query: unknown) => ['price-guidance', query] as const,
}

export const priceAgingKeys = {
  all: () => ['price-aging'] as const,
  of: (partnerId: string) => ['price-aging', partnerId] as const,
}

export const platformKeys = {
  overview: () => ['platform-overview'] as const,
}
