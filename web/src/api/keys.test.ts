import { QueryClient } from '@tanstack/vue-query'
import { describe, expect, it } from 'vitest'
import * as keys from './keys'

type Family = Record<string, (...args: never[]) => readonly unknown[]>

/** A key of every exact kind each family builds, with sample arguments. */
const samples: Record<string, readonly keys.Key[]> = {
  leadKeys: [keys.leadKeys.list('p1', { q: 'x' }, null, 50), keys.leadKeys.platform({}, null), keys.leadKeys.detail('L1')],
  partnerKeys: [keys.partnerKeys.detail('p1'), keys.partnerKeys.stats('p1')],
  listingKeys: [keys.listingKeys.page({}, null)],
  reservationKeys: [keys.reservationKeys.list('active')],
  purchaseKeys: [keys.purchaseKeys.list('recent')],
  syncTaskKeys: [keys.syncTaskKeys.history('p1'), keys.syncTaskKeys.last('p1')],
  returnKeys: [keys.returnKeys.list('all')],
  payoutKeys: [keys.payoutKeys.of('p1')],
  knownContactKeys: [keys.knownContactKeys.of(['L1'])],
  meetingKeys: [keys.meetingKeys.agenda('p1', 'dashboard')],
}

describe('query-key factories', () => {
  it('a family root matches every key of the family (so invalidating it refreshes them all)', () => {
    const qc = new QueryClient()
    qc.setQueryData(keys.leadKeys.list('p1', { q: 'x' }, null, 50), 'list')
    qc.setQueryData(keys.leadKeys.detail('L1'), 'detail')
    qc.setQueryData(keys.partnerKeys.stats('p1'), 'stats')
    qc.invalidateQueries({ queryKey: keys.leadKeys.lists() })
    expect(qc.getQueryState(keys.leadKeys.list('p1', { q: 'x' }, null, 50))?.isInvalidated).toBe(true)
    // A lead list's root does not reach the single-lead or the figures' queries.
    expect(qc.getQueryState(keys.leadKeys.detail('L1'))?.isInvalidated).toBe(false)
    expect(qc.getQueryState(keys.partnerKeys.stats('p1'))?.isInvalidated).toBe(false)
  })

  it('a detail key names one object only', () => {
    const qc = new QueryClient()
    qc.setQueryData(keys.leadKeys.detail('L1'), 'one')
    qc.setQueryData(keys.leadKeys.detail('L2'), 'two')
    qc.invalidateQueries({ queryKey: keys.leadKeys.detail('L1') })
    expect(qc.getQueryState(keys.leadKeys.detail('L1'))?.isInvalidated).toBe(true)
    expect(qc.getQueryState(keys.leadKeys.detail('L2'))?.isInvalidated).toBe(false)
  })

  it('every exact key starts with its family root, and no two families share a root', () => {
    const roots = new Map<string, string>()
    for (const [name, family] of Object.entries(keys) as [string, Family | unknown][]) {
      if (typeof family !== 'object' || family === null) continue
      for (const [fn, build] of Object.entries(family as Family)) {
        if (build.length !== 0) continue
        const root = JSON.stringify(build())
        expect(roots.get(root), `${name}.${fn} reuses ${root}`).toBeUndefined()
        roots.set(root, `${name}.${fn}`)
      }
    }
    for (const [family, built] of Object.entries(samples)) {
      for (const key of built) {
        const owner = roots.get(JSON.stringify([key[0]]))
        expect(owner?.startsWith(family), `${JSON.stringify(key)} under ${owner}`).toBe(true)
      }
    }
  })

  it('keys are stable: the same arguments give equal keys', () => {
    expect(keys.leadKeys.list('p1', { q: 'a' }, 'c', 25)).toEqual(keys.leadKeys.list('p1', { q: 'a' }, 'c', 25))
    expect(keys.invoiceKeys.detail('I1')).toEqual(['invoice', 'I1'])
  })
})
