import { describe, expect, it } from 'vitest'
import { LISTING_FILTER_DEFAULTS, criteriaName, listingCriteria, listingQuery, maxAgeDays } from './listingFilters'

const f = (patch: Partial<typeof LISTING_FILTER_DEFAULTS>) => ({ ...LISTING_FILTER_DEFAULTS, ...patch })

describe('marketplace filters', () => {
  it('send stage and age to the listings route', () => {
    const q = listingQuery(f({ industry: ' SaaS ', stage: 'non_fit', age: '7' }))
    expect(q).toMatchObject({ industry: 'SaaS', stage: 'non_fit', max_age_days: 7 })
  })

  it('leave out a stage or an age the API would refuse', () => {
    const q = listingQuery(f({ stage: 'closed_won', age: 'soon' }))
    expect(q.stage).toBeUndefined()
    expect(q.max_age_days).toBeUndefined()
    expect(maxAgeDays(f({ age: '3651' }))).toBeUndefined()
    expect(maxAgeDays(f({ age: '0' }))).toBe(0)
  })

  it('save exactly the filters the page shows, stage and age included', () => {
    expect(listingCriteria(f({ location: 'US', price: '250', stage: 'contacted', age: '0' }))).toEqual({
      industry: null,
      company_size: null,
      location: 'US',
      budget_min: null,
      price_max: 25_000,
      stage: 'contacted',
      max_age_days: 0,
    })
    expect(listingCriteria(f({}))).toEqual({
      industry: null,
      company_size: null,
      location: null,
      budget_min: null,
      price_max: null,
      stage: null,
      max_age_days: null,
    })
  })

  it('name a search after its filters', () => {
    expect(criteriaName(listingCriteria(f({ industry: 'Drones', stage: 'non_fit', age: '14' })))).toBe('Drones, Non fit, listed within 14 days')
    expect(criteriaName(listingCriteria(f({ industry: 'Drones' })))).toBe('Drones')
    expect(criteriaName(listingCriteria(f({ age: '0' })))).toBe('listed today')
    expect(criteriaName({})).toBe('All listings')
  })
})
