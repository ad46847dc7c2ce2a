/**
 * The live events the client hears (pc_core/events.py is the catalogue) and the
 * payload each one carries. What they make stale: `./invalidation`.
 */

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
