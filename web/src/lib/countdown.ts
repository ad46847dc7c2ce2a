/** Time left until a moment, as people read it on a reservation. */

export interface Remaining {
  ms: number
  expired: boolean
  days: number
  hours: number
  minutes: number
  seconds: number
}

export function remaining(expiresAt: string | Date, now: number = Date.now()): Remaining {
  const end = typeof expiresAt === 'string' ? Date.parse(expiresAt) : expiresAt.getTime()
  const ms = Math.max(0, (Number.isNaN(end) ? now : end) - now)
  const total = Math.floor(ms / 1000)
  return {
    ms,
    expired: ms === 0,
    days: Math.floor(total / 86400),
    hours: Math.floor((total % 86400) / 3600),
    minutes: Math.floor((total % 3600) / 60),
    seconds: total % 60,
  }
}

/** `6d 23h`, `5h 12m`, `4m 09s`, `Expired`: the two largest units. */
export function formatRemaining(r: Remaining): string {
  if (r.expired) return 'Expired'
  if (r.days > 0) return `${r.days}d ${r.hours}h`
  if (r.hours > 0) return `${r.hours}h ${r.minutes}m`
  return `${r.minutes}m ${String(r.seconds).padStart(2, '0')}s`
}

/** Soon enough to warn about (under 24 hours left). */
export function expiresSoon(r: Remaining): boolean {
  return !r.expired && r.ms < 24 * 3600 * 1000
}
