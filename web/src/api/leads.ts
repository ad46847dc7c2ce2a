/** The lead inventory (`/v1/leads`). */
import { ApiError } from './errors'
import { api, exchange, upload, type Query } from './http'
import type { components } from './schema'
import type { ImportResult, Lead, LeadPage, LeadUpdate, Note } from './types'

/** What the seller would be paid and the buyer would pay at a price. */
export type Quote = components['schemas']['QuoteOut']

const lead = (id: string) => `/v1/leads/${encodeURIComponent(id)}`

/**
 * A lead with the `ETag` it was read at (the answer's header, not a field of the
 * API's lead): the version an edit is made on, sent back as `If-Match`.
 */
export type VersionedLead = Lead & { etag: string | null }

export const leadsApi = {
  list: (query: Query, signal?: AbortSignal) => api.get<LeadPage>('/v1/leads', query, signal),
  /** A lead typed in by hand (`body` as the form parsed it; the owner names the partner). */
  create: (body: Record<string, unknown>) => api.post<Lead>('/v1/leads', body),
  quote: (id: string, priceCents: number | undefined) =>
    api.get<Quote>(`${lead(id)}/quote`, { price_cents: priceCents }),
  get: async (id: string): Promise<VersionedLead> => {
    const { body, headers } = await exchange<Lead>(lead(id))
    return { ...body, etag: headers.get('ETag') }
  },
  /**
   * Edit the version named by `ifMatch` (its ETag) only: if someone changed the
   * lead since, nothing is saved and this throws an `ApiError` with status 412
   * (`changedVersion` reads the current lead from it).
   */
  update: async (id: string, body: LeadUpdate, ifMatch: string | null): Promise<VersionedLead> => {
    const out = await exchange<Lead>(lead(id), {
      method: 'PATCH',
      body,
      headers: ifMatch ? { 'If-Match': ifMatch } : {},
    })
    return { ...out.body, etag: out.headers.get('ETag') }
  },
  addNote: (id: string, body: string) => api.post<Note>(`${lead(id)}/notes`, { body }),
  importCsv: (form: FormData, onProgress?: (fraction: number) => void) =>
    upload<ImportResult>('/v1/leads/import', form, onProgress),
}

/** The lead as stored now, from a 412 answer to a stale edit; `null` for any other error. */
export function changedVersion(err: unknown): VersionedLead | null {
  if (!(err instanceof ApiError) || err.status !== 412) return null
  const current = (err.body as { current?: Lead } | undefined)?.current
  return current ? { ...current, etag: err.headers?.get('ETag') ?? null } : null
}
