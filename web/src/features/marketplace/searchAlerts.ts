/**
 * Live notices of saved-search matches and standing-order fills: a toast with a
 * link to the match, and the count of unseen matches behind the header's badge
 * (cleared when the matches page is opened).
 */
import { ref } from 'vue'
import type { LiveEvents } from '@/api/live-events'
import { formatMoney } from '@/lib/format'
import { toast } from '@/ui/toast'

/** The payloads, generated from the server's models (`@/api/live-events`). */
export type SearchMatchedEvent = LiveEvents['search-matched']
export type OrderFilledEvent = LiveEvents['standing-order-filled']

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
