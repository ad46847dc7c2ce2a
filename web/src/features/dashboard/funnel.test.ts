import { describe, expect, it } from 'vitest'
import { funnelCounts } from './funnel'

describe('funnel answer', () => {
  it('reads the shapes the funnel route may take', () => {
    expect(funnelCounts([{ stage: 'new', count: 5 }, { stage: 'won', count: 1 }])).toEqual({ new: 5, won: 1 })
    expect(funnelCounts({ stages: [{ name: 'new', value: 3 }] })).toEqual({ new: 3 })
    expect(funnelCounts({ new: 4, won: 2 })).toEqual({ new: 4, won: 2 })
    expect(funnelCounts({ partner_id: 'p', won: 1, stages: [{ stage: 'new', entered: 7, conversion_to_next: 0.5 }] })).toEqual({ new: 7 })
  })

  it('answers null for anything else', () => {
    expect(funnelCounts(null)).toBeNull()
    expect(funnelCounts([])).toBeNull()
    expect(funnelCounts([{ stage: 1 }])).toBeNull()
    expect(funnelCounts({ partner_id: 'x', stages: 'no' })).toBeNull()
  })
})
