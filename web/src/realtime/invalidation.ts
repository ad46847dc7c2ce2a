/**
 * What each live event makes stale, as query keys from the factories in
 * `@/api/keys`. Invalidation is the single reaction: the query refetches and
 * every view of that data updates. A table (not handlers) so it can be tested.
 */
import type { QueryClient } from '@tanstack/vue-query'
import { watch } from 'vue'
import {
  hubspotKeys,
  invoiceKeys,
  leadKeys,
  listingKeys,
  meetingKeys,
  partnerKeys,
  payoutKeys,
  purchaseKeys,
  reservationKeys,
  returnKeys,
  searchNoticeKeys,
  stageMappingKeys,
  syncTaskKeys,
  type Key,
} from '@/api/keys'
import { noticeMatched, orderFilled } from '@/features/marketplace/searchAlerts'
import { formatDateTime } from '@/lib/format'
import { toast } from '@/ui/toast'
import { EV, type LiveEventName, type LivePayloads } from './events'
import { connectLive, liveRestoredAt } from './socket'

type Rule<E extends LiveEventName> = (payload: LivePayloads[E]) => Key[]

/** Events absent here (viewer counts) invalidate nothing: their pages follow them directly. */
export const INVALIDATIONS: { [E in LiveEventName]?: Rule<E> } = {
  [EV.leadListed]: () => [listingKeys.all(), leadKeys.lists(), partnerKeys.allStats()],
  [EV.leadReserved]: (p) => [listingKeys.all(), reservationKeys.all(), leadKeys.detail(p.lead_id), leadKeys.lists()],
  [EV.leadReleased]: (p) => [listingKeys.all(), reservationKeys.all(), leadKeys.detail(p.lead_id), leadKeys.lists()],
  [EV.leadUnlisted]: (p) => [listingKeys.all(), leadKeys.detail(p.lead_id), leadKeys.lists()],
  [EV.leadSold]: (p) => [
    listingKeys.all(),
    reservationKeys.all(),
    purchaseKeys.all(),
    leadKeys.detail(p.lead_id),
    leadKeys.lists(),
    partnerKeys.allStats(),
  ],
  [EV.stageUpdated]: (p) => [leadKeys.detail(p.lead_id), leadKeys.lists(), partnerKeys.allStats()],
  [EV.purchaseUpdated]: (p) => [
    purchaseKeys.all(),
    reservationKeys.all(),
    leadKeys.detail(p.lead_id),
    leadKeys.lists(),
    partnerKeys.allStats(),
  ],
  // A bad-lead return moved: both partners' purchases and payouts, the owner's queue,
  // the lead (relisted when accepted), the market and the credited invoice.
  [EV.returnUpdated]: (p) => [
    returnKeys.all(),
    purchaseKeys.all(),
    payoutKeys.all(),
    leadKeys.detail(p.lead_id),
    leadKeys.lists(),
    listingKeys.all(),
    invoiceKeys.lists(),
  ],
  // A booking routed a new lead to the partner; a meeting's change adds a note to its lead.
  [EV.leadAssigned]: (p) => [leadKeys.lists(), leadKeys.detail(p.lead_id), meetingKeys.all(), partnerKeys.allStats()],
  [EV.meetingUpdated]: (p) => [leadKeys.detail(p.lead_id), leadKeys.lists()],
  [EV.searchMatched]: () => [searchNoticeKeys.all()],
  [EV.standingOrderFilled]: () => [reservationKeys.all(), listingKeys.all()],
  [EV.syncProgress]: () => [syncTaskKeys.all()],
  [EV.syncFinished]: () => [
    syncTaskKeys.all(),
    hubspotKeys.allStatus(),
    stageMappingKeys.all(),
    leadKeys.lists(),
    partnerKeys.allStats(),
  ],
}

/** The keys `event` with `payload` makes stale (none for an event not in the table). */
export function staleKeys<E extends LiveEventName>(event: E, payload: LivePayloads[E]): Key[] {
  const rule = INVALIDATIONS[event] as Rule<E> | undefined
  return rule ? rule(payload) : []
}

let stopRefetchOnRestore: (() => void) | undefined

/** Wire the app-wide invalidations once, after sign-in. */
export function installLiveInvalidation(qc: QueryClient): void {
  const s = connectLive()
  for (const event of Object.keys(INVALIDATIONS) as LiveEventName[]) {
    s.on(event, (payload: LivePayloads[typeof event]) => {
      for (const queryKey of staleKeys(event, payload)) qc.invalidateQueries({ queryKey })
    })
  }
  // Events sent while the connection was down are gone (the server keeps none): when
  // it comes back after a drop (a network blip, an API restart, the server cutting
  // connections after its Redis subscription was restored), everything shown may be
  // stale, so every query is invalidated and the visible ones refetch.
  // One watcher, however often the shell mounts (sign-out, sign-in).
  stopRefetchOnRestore?.()
  stopRefetchOnRestore = watch(liveRestoredAt, (at) => {
    if (at) void qc.invalidateQueries()
  })
  // Besides invalidation: a toast and the header's badge for buyer alerts, a toast
  // for a newly booked meeting.
  s.on(EV.searchMatched, (p: LivePayloads['search-matched']) => noticeMatched(p))
  s.on(EV.standingOrderFilled, (p: LivePayloads['standing-order-filled']) => orderFilled(p))
  s.on(EV.leadAssigned, (p: LivePayloads['lead-assigned']) =>
    toast(`New meeting: ${p.title}, ${formatDateTime(p.start_time)}`, 'info', 10_000),
  )
}
