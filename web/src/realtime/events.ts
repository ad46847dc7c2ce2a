/**
 * The live events the client hears. Their payload types are GENERATED from the
 * server's models (pc_core/models/live_events.py → src/api/live-events.json →
 * src/api/live-events.d.ts, `npm run gen:events`); what each event makes stale is
 * in `./invalidation`.
 */
import type { LiveEvents } from '@/api/live-events'

export type { LiveEvents }
export type LiveEventName = keyof LiveEvents
/** The payload each event carries, by name. */
export type LivePayloads = LiveEvents

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
  returnUpdated: 'return-updated',
  leadAssigned: 'lead-assigned',
  meetingUpdated: 'meeting-updated',
  searchMatched: 'search-matched',
  standingOrderFilled: 'standing-order-filled',
} as const satisfies Record<string, LiveEventName>

/** A viewer count (`viewer-joined` and `viewer-left` carry the same). */
export type ViewerEvent = LiveEvents['viewer-joined']
/** A sync task's figures (`sync-progress` and `sync-finished`). */
export type SyncEvent = LiveEvents['sync-progress']
export type PurchaseEvent = LiveEvents['purchase-updated']
/** A ChiliPiper meeting routed to the partner (its room only). */
export type LeadAssignedEvent = LiveEvents['lead-assigned']
/** The events that take a listing off the market. */
export type ListingGoneEvent = LiveEvents['lead-reserved' | 'lead-sold' | 'lead-unlisted']
