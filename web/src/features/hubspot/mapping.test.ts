import { describe, expect, it } from 'vitest'
import type { StageMappingItem } from '@/api/types'
import { applySuggestions, changedRows, draftOf, groupByPipeline, rowKey } from './mapping'

const items: StageMappingItem[] = [
  { pipeline_id: 'p1', pipeline_label: 'Sales', stage_id: 's1', stage_label: 'Appointment', canonical_stage: 'meeting_scheduled', suggested_stage: null },
  { pipeline_id: 'p1', pipeline_label: 'Sales', stage_id: 's2', stage_label: 'Closed won', canonical_stage: null, suggested_stage: 'won' },
  { pipeline_id: 'p2', pipeline_label: 'Renewals', stage_id: 's3', stage_label: 'Odd', canonical_stage: null, suggested_stage: null },
]

describe('stage mapping draft', () => {
  it('sends only the rows that changed, null for "not mapped"', () => {
    const d = draftOf(items)
    expect(changedRows(items, d)).toEqual([])
    d[rowKey(items[0]!)] = ''
    d[rowKey(items[2]!)] = 'lost'
    expect(changedRows(items, d)).toEqual([
      { pipeline_id: 'p1', stage_id: 's1', canonical_stage: null },
      { pipeline_id: 'p2', stage_id: 's3', canonical_stage: 'lost' },
    ])
  })

  it('fills suggestions only where nothing is mapped', () => {
    const d = applySuggestions(items, draftOf(items))
    expect(d).toEqual({ 'p1::s1': 'meeting_scheduled', 'p1::s2': 'won', 'p2::s3': '' })
  })

  it('groups stages by pipeline in order', () => {
    expect(groupByPipeline(items).map((g) => [g.label, g.rows.length])).toEqual([['Sales', 2], ['Renewals', 1]])
  })
})
