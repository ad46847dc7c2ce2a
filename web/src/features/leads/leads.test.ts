import { describe, expect, it } from 'vitest'
import { effectScope } from 'vue'
import { useCursorPager } from '@/composables/useCursorPager'
import { endOfLocalDay, leadQuery, rangeError, startOfLocalDay } from './leadFilters'

describe('lead filters', () => {
  it('turns the filters into API parameters, the "to" day included whole', () => {
    const q = leadQuery({ status: 'listed', stage: '', q: '  acme ', from: '2026-01-05', to: '2026-01-06', origin: '' })
    expect(q.status).toBe('listed')
    expect(q.stage).toBeUndefined()
    expect(q.q).toBe('acme')
    expect(q.created_from).toBe(new Date(2026, 0, 5).toISOString())
    expect(q.created_to).toBe(new Date(2026, 0, 7).toISOString())
    expect(startOfLocalDay('nope')).toBeUndefined()
    expect(endOfLocalDay('2026-12-31')).toBe(new Date(2027, 0, 1).toISOString())
    expect(q.origin).toBeUndefined() // "mine": the API's default
  })

  it('asks for bought leads only with a known origin', () => {
    const base = { status: '', stage: '', q: '', from: '', to: '' }
    expect(leadQuery({ ...base, origin: 'purchased' }).origin).toBe('purchased')
    expect(leadQuery({ ...base, origin: 'all' }).origin).toBe('all')
    expect(leadQuery({ ...base, origin: 'stolen' }).origin).toBeUndefined()
  })

  it('names a backwards date range', () => {
    expect(rangeError({ status: '', stage: '', q: '', from: '2026-02-01', to: '2026-01-01', origin: '' })).toMatch(/before/)
    expect(rangeError({ status: '', stage: '', q: '', from: '2026-01-01', to: '', origin: '' })).toBeNull()
  })
})

describe('cursor pager', () => {
  it('goes forward with next_cursor and back through the remembered ones', () => {
    const p = effectScope().run(() => useCursorPager())!
    expect(p.cursor.value).toBeNull()
    p.next('c2')
    p.next('c3')
    expect([p.cursor.value, p.page.value]).toEqual(['c3', 3])
    p.previous()
    expect(p.cursor.value).toBe('c2')
    p.next(null) // the last page has no next cursor: stay
    expect(p.page.value).toBe(2)
    p.reset()
    expect([p.cursor.value, p.hasPrevious.value]).toEqual([null, false])
  })
})
