/** The marketplace (`/v1/marketplace`): listings, reservations, purchases, returns, known contacts. */
import { api, type Query } from './http'
import type { components } from './schema'
import type {
  KnownPage,
  LeadReturn,
  ListingPage,
  PurchaseCreated,
  PurchasePage,
  Reservation,
  ReservationPage,
  ReturnPage,
  ReturnReason,
} from './types'

/** The price guidance for a lead's kind; a partner's price-aging rule. */
export type PriceGuidance = components['schemas']['PriceGuidanceOut']
export type PriceAging = components['schemas']['PriceAging']

export const marketplaceApi = {
  listings: (query: Query, signal?: AbortSignal) =>
    api.get<ListingPage>('/v1/marketplace/listings', query, signal),
  reservations: (query: Query) => api.get<ReservationPage>('/v1/marketplace/reservations', query),
  reserve: (leadId: string, days: number) =>
    api.post<Reservation>('/v1/marketplace/reservations', { lead_id: leadId, days }),
  release: (reservationId: string) =>
    api.del<Reservation>(`/v1/marketplace/reservations/${encodeURIComponent(reservationId)}`),
  purchases: (query: Query) => api.get<PurchasePage>('/v1/marketplace/purchases', query),
  purchase: (reservationId: string) =>
    api.post<PurchaseCreated>('/v1/marketplace/purchases', { reservation_id: reservationId }),
  /** Which of these listings' contacts (or companies) the buyer already knows. */
  knownContacts: (leadIds: string[]) => api.post<KnownPage>('/v1/marketplace/known-contacts', { lead_ids: leadIds }),
  returns: (query: Query) => api.get<ReturnPage>('/v1/marketplace/returns', query),
  /** The buyer asks to return a bad lead it bought. */
  askReturn: (purchaseId: string, reason: ReturnReason, note: string | null) =>
    api.post<LeadReturn>('/v1/marketplace/returns', { purchase_id: purchaseId, reason, note }),
  /** The seller's answer (`answer`) or the owner's decision (`decision`) on a return. */
  settleReturn: (returnId: string, kind: 'answer' | 'decision', accept: boolean, note: string | null) =>
    api.post<LeadReturn>(`/v1/marketplace/returns/${encodeURIComponent(returnId)}/${kind}`, { accept, note }),
  priceGuidance: (query: Query, signal?: AbortSignal) =>
    api.get<PriceGuidance>('/v1/marketplace/price-guidance', query, signal),
  priceAging: (partnerId: string, signal?: AbortSignal) =>
    api.get<PriceAging>('/v1/marketplace/price-aging', { partner_id: partnerId }, signal),
  savePriceAging: (partnerId: string, body: PriceAging) =>
    api.put<PriceAging>('/v1/marketplace/price-aging', body, { partner_id: partnerId }),
}
