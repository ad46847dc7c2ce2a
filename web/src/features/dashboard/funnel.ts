/**
 * The funnel route's answer (built by another team; `GET /v1/partners/{id}/funnel`)
 * read tolerantly: a list of `{stage, count|entered}`, or `{stages: [...]}` (FunnelOut), or a
 * `{stage: count}` map. Anything else → `null` and the dashboard hides the chart.
 */
export function funnelCounts(body: unknown): Record<string, number> | null {
  const fromList = (list: unknown[]): Record<string, number> | null => {
    const out: Record<string, number> = {}
    for (const item of list) {
      if (!item || typeof item !== 'object') return null
      const o = item as Record<string, unknown>
      const name = o.stage ?? o.name ?? o.step ?? o.label
      const value = o.count ?? o.entered ?? o.value ?? o.leads
      if (typeof name !== 'string' || typeof value !== 'number') return null
      out[name] = value
    }
    return Object.keys(out).length ? out : null
  }
  if (Array.isArray(body)) return fromList(body)
  if (body && typeof body === 'object') {
    const o = body as Record<string, unknown>
    for (const key of ['stages', 'steps', 'items', 'funnel']) {
      if (Array.isArray(o[key])) return fromList(o[key] as unknown[])
    }
    const entries = Object.entries(o).filter(([, v]) => typeof v === 'number')
    if (entries.length && entries.length === Object.keys(o).length) return Object.fromEntries(entries) as Record<string, number>
  }
  return null
}

/** The funnel's stages in order of progress: lost and non-fit are outcomes, not steps. */
export function progressStages(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).filter(([k]) => k !== 'lost' && k !== 'non_fit'))
}
