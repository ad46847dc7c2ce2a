/** The stage-mapping editor's working copy: what changed, what is unmapped. */
import type { Stage, StageMappingIn, StageMappingItem } from '@/api/types'

export const rowKey = (m: Pick<StageMappingItem, 'pipeline_id' | 'stage_id'>) => `${m.pipeline_id}::${m.stage_id}`

export type Draft = Record<string, Stage | ''>

export function draftOf(items: StageMappingItem[]): Draft {
  return Object.fromEntries(items.map((m) => [rowKey(m), m.canonical_stage ?? '']))
}

export function changedRows(items: StageMappingItem[], draft: Draft): StageMappingIn[] {
  return items
    .filter((m) => (draft[rowKey(m)] ?? '') !== (m.canonical_stage ?? ''))
    .map((m) => ({ pipeline_id: m.pipeline_id, stage_id: m.stage_id, canonical_stage: draft[rowKey(m)] || null }))
}

/** Fill every unmapped stage that has a suggestion; mapped stages are left alone. */
export function applySuggestions(items: StageMappingItem[], draft: Draft): Draft {
  const next = { ...draft }
  for (const m of items) if (!next[rowKey(m)] && m.suggested_stage) next[rowKey(m)] = m.suggested_stage
  return next
}

export function groupByPipeline(items: StageMappingItem[]): { id: string; label: string; rows: StageMappingItem[] }[] {
  const groups = new Map<string, { id: string; label: string; rows: StageMappingItem[] }>()
  for (const m of items) {
    const g = groups.get(m.pipeline_id) ?? { id: m.pipeline_id, label: m.pipeline_label ?? m.pipeline_id, rows: [] }
    g.rows.push(m)
    groups.set(m.pipeline_id, g)
  }
  return [...groups.values()]
}
