/**
 * The live events the client hears (pc_core/events.py is the catalogue) and the
 * server state each one makes stale. Invalidation is the single reaction: the
 * query refetches and every view of that data updates.
 */
import type { QueryClient } from '@tanstack/vue-query'
import { noticeMatched, orderFilled } from '@/features/marketplace/searchAlerts'
import { formatDateTime } from '@/lib/format'
import { toast } from '@/ui/toast'
import { connectLive } from './socket'

export const EV = {
  leadListed: 'lead-listed',
  leadSold: 'lead-sold',
  leadReserved: 'lead-reserved',
  leadReleased: 'lead-released',
  leadUnlisted: 'lead-unlisted',
  stageUpdated: 'stage-updated',
  viewerJoined: 'viewer-joined',
  viewerLeft: 'viewer-left',
  syncProgress: 'sync-progress',
  syncFinished: 'sync-finished',
  purchaseUpdated: 'purchase-updated',
  searchMatched: 'search-matched',
  standingOrderFilled: 'standing-order-filled',
  leadAssigned: 'lead-assigned',
  returnUpdated: 'return-updated',
} as const

export interface LeadEvent {
  lead_id: string
  reservation_id?: string
  partner_id?: string
  seller_partner_id?: string
  buyer_partner_id?: string
  from?: string | null
  to?: string
}

/** Distinct people viewing the lead (this one included); never who they are. */
export interface ViewerEvent {
  lead_id: string
  viewers: number
  /** The server's per-lead change number: the highest is the newest count. */
  seq?: number
}

export interface SyncEvent {
  sync_task_id: string
  status: string
  step?: string
  counts?: Record<string, number>
}

/** A meeting booked through ChiliPiper was routed to the partner (its room only). */
export interface LeadAssignedEvent {
  lead_id: string
  partner_id: string
  meeting_id: string
  meeting_type: string
  start_time: string
  title: string
}

export interface PurchaseEvent {
  purchase_id: string
  lead_id: string
  status: string
}

/** Wire the app-wide invalidations once, after sign-in. */
export function installLiveInvalidation(qc: QueryClient): void {
  const s = connectLive()
  const inv = (...keys: string[][]) => keys.forEach((queryKey) => qc.invalidateQueries({ queryKey }))
  s.on(EV.leadListed, () => inv(['listings'], ['leads'], ['stats']))
  s.on(EV.leadReserved, (p: LeadEvent) => inv(['listings'], ['reservations'], ['lead', p.lead_id], ['leads']))
  s.on(EV.leadReleased, (p: LeadEvent) => inv(['listings'], ['reservations'], ['lead', p.lead_id], ['leads']))
  s.on(EV.leadUnlisted, (p: LeadEvent) => inv(['listings'], ['lead', p.lead_id], ['leads']))
  s.on(EV.leadSold, (p: LeadEvent) =>
    inv(['listings'], ['reservations'], ['purchases'], ['lead', p.lead_id], ['leads'], ['stats']),
  )
  s.on(EV.stageUpdated, (p: LeadEvent) => inv(['lead', p.lead_id], ['leads'], ['stats']))
  s.on(EV.purchaseUpdated, (p: PurchaseEvent) =>
    inv(['purchases'], ['reservations'], ['lead', p.lead_id], ['leads'], ['stats']),
  )
  s.on(EV.searchMatched, (p: Parameters<typeof noticeMatched>[0]) => {
    noticeMatched(p)
    inv(['search-notices'])
  })
  s.on(EV.standingOrderFilled, (p: Parameters<typeof orderFilled>[0]) => {
    orderFilled(p)
    inv(['reservations'], ['listings'])
  })
  s.on(EV.leadAssigned, (p: LeadAssignedEvent) => {
    inv(['leads'], ['meetings'], ['lead', p.lead_id], ['stats'])
    toast(`New meeting: ${p.title}, ${formatDateTime(p.start_time)}`, 'info', 10_000)
  })
  s.on(EV.returnUpdated, (p: PurchaseEvent) =>
    inv(['returns'], ['purchases'], ['payouts'], ['lead', p.lead_id], ['leads'], ['listings'], ['invoices']),
  )
  s.on(EV.syncProgress, () => inv(['sync-tasks']))
  s.on(EV.syncFinished, () => inv(['sync-tasks'], ['hubspot-status'], ['stage-mapping'], ['leads'], ['stats']))
}
