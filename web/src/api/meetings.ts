/** Meetings: the agenda, a partner's routing, the routing preview, the unassigned queue. */
import { api, type Query } from './http'
import { partnerPath } from './partners'
import type {
  AssignIn,
  AssignOut,
  LeadPage,
  PreviewIn,
  PreviewOut,
  Routing,
  RoutingConfig,
  UnassignedPage,
} from './types'

export const meetingsApi = {
  /** The partner's leads with a ChiliPiper meeting, by view (upcoming, past, …). */
  agenda: (query: Query, signal?: AbortSignal) => api.get<LeadPage>('/v1/meetings/agenda', query, signal),
  routing: (partnerId: string) => api.get<Routing>(`${partnerPath(partnerId)}/routing`),
  saveRouting: (partnerId: string, config: RoutingConfig) =>
    api.put<Routing>(`${partnerPath(partnerId)}/routing`, config),
  preview: (body: PreviewIn) => api.post<PreviewOut>('/v1/meetings/routing/preview', body),
  unassigned: (query: Query) => api.get<UnassignedPage>('/v1/meetings/unassigned', query),
  assign: (leadId: string, body: AssignIn) =>
    api.post<AssignOut>(`/v1/meetings/unassigned/${encodeURIComponent(leadId)}/assign`, body),
}
