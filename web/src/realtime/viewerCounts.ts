/**
 * Viewer counts reach the page by two paths: the answer to our own `join-lead` and
 * room events relayed through the server's Redis, which can arrive later than a
 * newer answer. Each count carries the server's per-lead sequence number (`seq`),
 * so the newest count wins whatever the arrival order.
 */
export interface ViewerCount {
  viewers: number
  seq?: number
}

export class ViewerCounts {
  private counts = new Map<string, { viewers: number; seq: number }>()

  /** Record `count` for `leadId` unless a newer one is already known; true if taken. */
  apply(leadId: string, count: ViewerCount): boolean {
    const seq = count.seq ?? 0
    const known = this.counts.get(leadId)
    if (known && seq < known.seq) return false
    this.counts.set(leadId, { viewers: count.viewers, seq })
    return true
  }

  /** Distinct viewers known for the lead (this tab included), if any. */
  viewers(leadId: string): number | undefined {
    return this.counts.get(leadId)?.viewers
  }

  forget(leadId: string): void {
    this.counts.delete(leadId)
  }
}
