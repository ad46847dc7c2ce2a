/** A buyer's saved searches and the matches they found (`/v1/saved-searches`). */
import { api } from './http'
import type { SavedSearch, SavedSearchIn, SavedSearchList, SearchNoticePage } from './types'

const search = (id: string) => `/v1/saved-searches/${encodeURIComponent(id)}`

export const savedSearchesApi = {
  list: (signal?: AbortSignal) => api.get<SavedSearchList>('/v1/saved-searches', undefined, signal),
  create: (body: SavedSearchIn) => api.post<SavedSearch>('/v1/saved-searches', body),
  /** `email`: how matches are mailed (`immediate`, `daily` or `off`). */
  setEmail: (id: string, email: string) => api.patch<SavedSearch>(search(id), { email }),
  remove: (id: string) => api.del(search(id)),
  notices: (signal?: AbortSignal) => api.get<SearchNoticePage>('/v1/saved-searches/notices', { limit: 50 }, signal),
}
