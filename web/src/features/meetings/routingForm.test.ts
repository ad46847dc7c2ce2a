import { describe, expect, it } from 'vitest'
import { configOf, formOf } from './routingForm'

describe('routing form', () => {
  it('round-trips a config', () => {
    const c = {
      meeting_types: ['Demo', 'Intro call'], company_size_min: '11-50' as const, company_size_max: null,
      budget_min_cents: 500000, locations: ['US', 'UK'], industries: [], weight: 3, monthly_cap: 20,
    }
    expect(configOf(formOf(c)).config).toEqual(c)
  })

  it('names bad numbers next to their fields', () => {
    const f = formOf({ meeting_types: [], weight: 1 } as never)
    const out = configOf({ ...f, weight: '0', monthly_cap: '-1', budget_min: 'lots' })
    expect(out.config).toBeUndefined()
    expect(Object.keys(out.errors).sort()).toEqual(['budget_min', 'monthly_cap', 'weight'])
  })

  it('treats an empty cap as no cap and trims list items', () => {
    const out = configOf({ meeting_types: ' Demo , ,Intro ', company_size_min: '', company_size_max: '', budget_min: '', locations: '', industries: 'SaaS', weight: '1', monthly_cap: '' })
    expect(out.config).toMatchObject({ meeting_types: ['Demo', 'Intro'], monthly_cap: null, budget_min_cents: null, industries: ['SaaS'] })
  })
})
