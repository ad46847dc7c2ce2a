/** Where a lead's meeting stands, in words (the API's `view`s use the same rule). */
import type { Lead } from '@/api/types'

export type MeetingView = 'upcoming' | 'past' | 'no_show' | 'cancelled'

export const MEETING_VIEWS: { value: MeetingView; label: string }[] = [
  { value: 'upcoming', label: 'Upcoming' },
  { value: 'past', label: 'Past' },
  { value: 'no_show', label: 'No-shows' },
  { value: 'cancelled', label: 'Cancelled' },
]

export function meetingPhase(
  lead: Pick<Lead, 'scheduled_date' | 'meeting_status' | 'stage'>,
  now: Date = new Date(),
): { view: MeetingView | null; label: string } {
  if (!lead.scheduled_date) return { view: null, label: 'No meeting booked' }
  if (lead.meeting_status === 'cancelled') return { view: 'cancelled', label: 'Cancelled' }
  if (new Date(lead.scheduled_date) >= now) return { view: 'upcoming', label: 'Upcoming' }
  if (lead.stage === 'meeting_scheduled')
    return { view: 'no_show', label: 'The time has passed and the lead is not marked "meeting held": a no-show?' }
  return { view: 'past', label: 'Held' }
}
