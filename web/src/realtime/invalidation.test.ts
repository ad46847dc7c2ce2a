import { QueryClient } from '@tanstack/vue-query'
import { describe, expect, it } from 'vitest'
import {
  invoiceKeys,
  leadKeys,
  listingKeys,
  partnerKeys,
  payoutKeys,
  purchaseKeys,
  reservationKeys,
  returnKeys,
  syncTaskKeys,
} from '@/api/keys'
import { EV } from './events'
import { INVALIDATIONS, staleKeys } from './invalidation'

/** A cache holding what the pages would have loaded. */
function loadedCache(): QueryClient {
  const qc = new QueryClient()
  const seed = [
    leadKeys.detail('L1'),
    leadKeys.detail('L2'),
    leadKeys.list('p1', {}, null, 50),
    listingKeys.page({}, null),
    reservationKeys.list('active'),
    purchaseKeys.list('recent'),
    partnerKeys.stats('p1'),
    syncTaskKeys.history('p1'),
  ]
  for (const k of seed) qc.setQueryData(k, { seeded: true })
  return qc
}

function apply(qc: QueryClient, keys: readonly (readonly unknown[])[]): void {
  for (const queryKey of keys) void qc.invalidateQueries({ queryKey })
}

const stale = (qc: QueryClient, key: readonly unknown[]) => qc.getQueryState(key)?.isInvalidated ?? false

describe('live event → invalidation table', () => {
  it('lead-sold refreshes that lead, the lists, the market and both partners\' figures', () => {
    const qc = loadedCache()
    apply(qc, staleKeys(EV.leadSold, { lead_id: 'L1', seller_partner_id: 's', buyer_partner_id: 'b' }))
    expect(stale(qc, leadKeys.detail('L1'))).toBe(true)
    expect(stale(qc, leadKeys.detail('L2'))).toBe(false)
    expect(stale(qc, leadKeys.list('p1', {}, null, 50))).toBe(true)
    expect(stale(qc, listingKeys.page({}, null))).toBe(true)
    expect(stale(qc, purchaseKeys.list('recent'))).toBe(true)
    expect(stale(qc, partnerKeys.stats('p1'))).toBe(true)
    expect(stale(qc, syncTaskKeys.history('p1'))).toBe(false)
  })

  it('stage-updated refreshes the lead and its lists, not the marketplace', () => {
    const qc = loadedCache()
    apply(qc, staleKeys(EV.stageUpdated, { lead_id: 'L2', partner_id: 'p1', from: 'new', to: 'won' }))
    expect(stale(qc, leadKeys.detail('L2'))).toBe(true)
    expect(stale(qc, leadKeys.detail('L1'))).toBe(false)
    expect(stale(qc, listingKeys.page({}, null))).toBe(false)
  })

  it('sync-progress refreshes the sync history only', () => {
    const qc = loadedCache()
    apply(qc, staleKeys(EV.syncProgress, { sync_task_id: 't', partner_id: 'p1', status: 'running' } as never))
    expect(stale(qc, syncTaskKeys.history('p1'))).toBe(true)
    expect(stale(qc, leadKeys.list('p1', {}, null, 50))).toBe(false)
  })

  it('return-updated refreshes returns, purchases, payouts, the lead, the market and invoices', () => {
    const qc = loadedCache()
    for (const k of [returnKeys.list('all'), payoutKeys.of('p1'), invoiceKeys.list('p1', {}, null)]) qc.setQueryData(k, { seeded: true })
    apply(qc, staleKeys(EV.returnUpdated, {
      return_id: 'r', purchase_id: 'pu', lead_id: 'L1', status: 'accepted', reason: 'unreachable',
      buyer_partner_id: 'b', seller_partner_id: 's',
    }))
    expect(stale(qc, returnKeys.list('all'))).toBe(true)
    expect(stale(qc, payoutKeys.of('p1'))).toBe(true)
    expect(stale(qc, invoiceKeys.list('p1', {}, null))).toBe(true)
    expect(stale(qc, purchaseKeys.list('recent'))).toBe(true)
    expect(stale(qc, leadKeys.detail('L1'))).toBe(true)
    expect(stale(qc, leadKeys.detail('L2'))).toBe(false)
    expect(stale(qc, syncTaskKeys.history('p1'))).toBe(false)
  })

  it('viewer counts invalidate nothing (the pages follow them directly)', () => {
    expect(staleKeys(EV.viewerJoined, { lead_id: 'L1', viewers: 2, seq: 1 })).toEqual([])
    expect(INVALIDATIONS[EV.viewerLeft]).toBeUndefined()
  })

  it('every key in the table is built by a factory family the pages use', () => {
    const roots = new Set(['leads', 'lead', 'listings', 'reservations', 'purchases', 'stats', 'sync-tasks', 'hubspot-status', 'stage-mapping', 'search-notices', 'returns', 'payouts', 'invoices', 'meetings'])
    for (const [event, rule] of Object.entries(INVALIDATIONS)) {
      const keys = (rule as unknown as (p: unknown) => readonly (readonly unknown[])[])({ lead_id: 'L1' })
      expect(keys.length, event).toBeGreaterThan(0)
      for (const k of keys) expect(roots.has(k[0] as string), `${event}: ${JSON.stringify(k)}`).toBe(true)
    }
  })
})
