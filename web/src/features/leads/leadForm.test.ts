import { describe, expect, it } from 'vitest'
import type { Lead } from '@/api/types'
import { bodyFromForm, changesFrom, editedView, emptyLeadForm, leadFormFrom } from './leadForm'

const lead = {
  id: 'l1', title: 'Acme deal', company: 'Acme', contact_name: null, contact_email: 'ada@acme.example.com',
  contact_phone: null, industry: 'SaaS', location: 'US', budget_cents: 2_000_000, amount_cents: null,
  price_cents: 50_000, company_size: '51-200', stage: 'new',
} as unknown as Lead

describe('lead form', () => {
  it('sends blanks as null and money as cents', () => {
    const values = { ...emptyLeadForm(), title: 'New', budget_cents: '1,250.50' }
    const { body, errors } = bodyFromForm(values)
    expect(errors).toEqual({})
    expect(body).toMatchObject({ title: 'New', company: null, budget_cents: 125050, price_cents: null, company_size: null })
  })

  it('names money that is not an amount, at its field', () => {
    expect(bodyFromForm({ ...emptyLeadForm(), title: 'x', price_cents: 'five hundred' }).errors).toEqual({
      price_cents: 'Enter an amount like 1250 or 1,250.50.',
    })
  })

  it('sends only what changed', () => {
    const values = { ...leadFormFrom(lead), price_cents: '650', contact_name: 'Ada' }
    expect(changesFrom(lead, values).body).toEqual({ price_cents: 65_000, contact_name: 'Ada' })
    expect(changesFrom(lead, leadFormFrom(lead)).body).toEqual({})
  })

  it('sees a note or a sync time as no change to what an edit is made on', () => {
    const noted = { ...lead, notes: [{ id: 'n1', body: 'Called', created_at: '2026-01-01T00:00:00Z' }], hubspot_synced_at: '2026-01-02T00:00:00Z' } as unknown as Lead
    expect(editedView(noted)).toBe(editedView(lead))
    expect(editedView({ ...lead, amount_cents: 100 })).not.toBe(editedView(lead))
    expect(editedView({ ...lead, status: 'listed' } as Lead)).not.toBe(editedView(lead))
  })
})
