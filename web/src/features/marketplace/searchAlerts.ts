/**
 * Live notices of saved-search matches and standing-order fills: a toast with a
 * link to the match, and the count of unseen matches behind the header's badge
 * (cleared when the matches page is opened).
 */
import { ref } from 'vue'
import type { Listing } from '@/api/types'
import { formatMoney } from '@/lib/format'
import { toast } from '@/ui/toast'

export interface SearchMatchedEvent {
  notice_id: string
  search_id: string
  search_name: string
  lead_id: string
  listing: Omit<Listing, 'own'>
}

export interface OrderFilledEvent {
  order_id: string
  order_name: string
  lead_id: string
  reservation_id: string
}

/** Matches heard since the matches page was last opened. */
export const unseenMatches = ref(0)

export function matchesSeen(): void {
  unseenMatches.value = 0
}

export function matchLink(noticeId: string): string {
  return `/marketplace/matches?notice=${encodeURIComponent(noticeId)}`
}

export function noticeMatched(e: SearchMatchedEvent): void {
  unseenMatches.value += 1
  const l = e.listing
  const what = [l.industry ?? 'Lead', l.location, formatMoney(l.buyer_total_cents, l.currency)].filter(Boolean).join(' · ')
  toast(`New match for “${e.search_name}”: ${what}.`, 'info', 10_000, { to: matchLink(e.notice_id), label: 'See it' })
}

export function orderFilled(e: OrderFilledEvent): void {
  toast(`Standing order “${e.order_name}” reserved a lead for you.`, 'success', 10_000, {
    to: '/marketplace/reservations',
    label: 'My reservations',
  })
}
