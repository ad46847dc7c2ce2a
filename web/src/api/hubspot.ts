/** The HubSpot integration (`/v1/integrations/hubspot`) and a partner's stage mapping. */
import { api, type Query } from './http'
import { partnerPath } from './partners'
import type { HubSpotStatus, StageMappingIn, StageMappingItem, SyncQueued, SyncTaskPage } from './types'

const HUBSPOT = '/v1/integrations/hubspot'

export const hubspotApi = {
  status: (query: Query) => api.get<HubSpotStatus>(`${HUBSPOT}/status`, query),
  authorizeUrl: (query: Query) => api.get<{ url: string }>(`${HUBSPOT}/authorize`, query),
  disconnect: (query: Query) => api.del(HUBSPOT, query),
  sync: (query: Query) => api.post<SyncQueued>(`${HUBSPOT}/sync`, undefined, query),
  syncTasks: (query: Query) => api.get<SyncTaskPage>(`${HUBSPOT}/sync-tasks`, query),
  stageMapping: (partnerId: string) => api.get<StageMappingItem[]>(`${partnerPath(partnerId)}/stage-mapping`),
  saveStageMapping: (partnerId: string, body: StageMappingIn[]) =>
    api.put<StageMappingItem[]>(`${partnerPath(partnerId)}/stage-mapping`, body),
}
