import { describe, expect, it } from 'vitest'
import { meetingPhase } from './meetingList'

const now = new Date('2026-12-05T12:00:00Z')

describe('meetingPhase', () => {
  it('reads upcoming, no-show, held and cancelled meetings', () => {
    const at = (d: string, stage = 'meeting_scheduled', status = 'scheduled') =>
      meetingPhase({ scheduled_date: d, meeting_status: status, stage: stage as never }, now).view
    expect(at('2026-12-06T09:00:00Z')).toBe('upcoming')
    expect(at('2026-12-04T09:00:00Z')).toBe('no_show')
    expect(at('2026-12-04T09:00:00Z', 'meeting_held')).toBe('past')
    expect(at('2026-12-06T09:00:00Z', 'meeting_scheduled', 'cancelled')).toBe('cancelled')
    expect(meetingPhase({ scheduled_date: null, meeting_status: null, stage: 'new' }, now).view).toBeNull()
  })
})
