/** The lead inventory (`/v1/leads`). */
import { api, upload, type Query } from './http'
import type { ImportResult, Lead, LeadPage, LeadUpdate, Note } from './types'

const lead = (id: string) => `/v1/leads/${encodeURIComponent(id)}`

export const leadsApi = {
  list: (query: Query, signal?: AbortSignal) => api.get<LeadPage>('/v1/leads', query, signal),
  get: (id: string) => api.get<Lead>(lead(id)),
  update: (id: string, body: LeadUpdate) => api.patch<Lead>(lead(id), body),
  addNote: (id: string, body: string) => api.post<Note>(`${lead(id)}/notes`, { body }),
  importCsv: (form: FormData, onProgress?: (fraction: number) => void) =>
    upload<ImportResult>('/v1/leads/import', form, onProgress),
}
