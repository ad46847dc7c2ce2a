import { describe, expect, it, vi } from 'vitest'
import { effectScope, nextTick } from 'vue'
import { expiresSoon, formatRemaining, remaining } from './countdown'
import { useCountdown } from '@/composables/useCountdown'

const now = Date.parse('2026-03-01T00:00:00Z')

describe('countdown', () => {
  it('splits the time left into units', () => {
    const r = remaining('2026-03-08T03:04:05Z', now)
    expect(r).toMatchObject({ days: 7, hours: 3, minutes: 4, seconds: 5, expired: false })
    expect(formatRemaining(r)).toBe('7d 3h')
    expect(formatRemaining(remaining('2026-03-01T05:10:00Z', now))).toBe('5h 10m')
    expect(formatRemaining(remaining('2026-03-01T00:04:09Z', now))).toBe('4m 09s')
  })

  it('is expired at and after the moment', () => {
    expect(remaining('2026-03-01T00:00:00Z', now).expired).toBe(true)
    expect(formatRemaining(remaining('2026-02-01T00:00:00Z', now))).toBe('Expired')
  })

  it('warns under 24 hours', () => {
    expect(expiresSoon(remaining('2026-03-01T23:00:00Z', now))).toBe(true)
    expect(expiresSoon(remaining('2026-03-02T01:00:00Z', now))).toBe(false)
    expect(expiresSoon(remaining('2026-02-28T00:00:00Z', now))).toBe(false)
  })

  it('ticks while its scope lives', async () => {
    vi.useFakeTimers()
    vi.setSystemTime(now)
    const scope = effectScope()
    const c = scope.run(() => useCountdown('2026-03-01T00:00:03Z'))!
    expect(c.label.value).toBe('0m 03s')
    vi.advanceTimersByTime(3000)
    await nextTick()
    expect(c.expired.value).toBe(true)
    scope.stop()
    vi.useRealTimers()
  })
})
