import { describe, expect, it } from 'vitest'
import { ViewerCounts } from './viewerCounts'

describe('ViewerCounts', () => {
  it('keeps the newest count when an older event arrives after a newer answer', () => {
    const c = new ViewerCounts()
    expect(c.apply('l1', { viewers: 3, seq: 7 })).toBe(true) // our join's answer
    expect(c.apply('l1', { viewers: 2, seq: 6 })).toBe(false) // someone's earlier join, relayed late
    expect(c.viewers('l1')).toBe(3)
    expect(c.apply('l1', { viewers: 2, seq: 8 })).toBe(true) // a later leave
    expect(c.viewers('l1')).toBe(2)
  })

  it('keeps leads apart and forgets a lead on leave', () => {
    const c = new ViewerCounts()
    c.apply('a', { viewers: 4, seq: 10 })
    c.apply('b', { viewers: 1, seq: 1 })
    expect(c.viewers('b')).toBe(1)
    c.forget('a')
    expect(c.viewers('a')).toBeUndefined()
    expect(c.apply('a', { viewers: 1, seq: 2 })).toBe(true) // a rejoin starts afresh
  })
})
