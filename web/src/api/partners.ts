/** Partners (`/v1/partners`): the list, one partner, its figures. */
import { api, type Query } from './http'
import type { FunnelOut, Partner, PartnerCreate, PartnerStats, PartnerUpdate } from './types'

export const partnerPath = (id: string) => `/v1/partners/${encodeURIComponent(id)}`

export const partnersApi = {
  list: () => api.get<Partner[]>('/v1/partners'),
  get: (id: string) => api.get<Partner>(partnerPath(id)),
  create: (body: PartnerCreate) => api.post<Partner>('/v1/partners', body),
  update: (id: string, body: PartnerUpdate) => api.patch<Partner>(partnerPath(id), body),
  stats: (id: string) => api.get<PartnerStats>(`${partnerPath(id)}/stats`),
  funnel: (id: string, query: Query) => api.get<FunnelOut>(`${partnerPath(id)}/funnel`, query),
}
