/**
 * "N others viewing": join each shown lead's room (`join-lead`, ack carries the
 * count) and follow viewer-joined / viewer-left. Rooms are per connection, so
 * they are joined again after a reconnect.
 */
import { onScopeDispose, reactive, toValue, watch, type MaybeRefOrGetter } from 'vue'
import { EV } from '@/realtime/events'
import { emitWithAck, onLiveConnect, useLiveEvent } from '@/realtime/socket'
import { ViewerCounts, type ViewerCount } from '@/realtime/viewerCounts'

const MAX_JOINED = 40 // the server allows 50 per connection

export function useViewers(leadIds: MaybeRefOrGetter<string[]>) {
  const counts = reactive<Record<string, number>>({})
  const newest = new ViewerCounts()
  let joined = new Set<string>()

  function take(id: string, count: ViewerCount) {
    if (newest.apply(id, count)) counts[id] = count.viewers
  }

  async function join(id: string) {
    const ack = await emitWithAck<{ ok: boolean; viewers?: number; seq?: number }>('join-lead', { lead_id: id })
    if (ack?.ok && typeof ack.viewers === 'number') take(id, { viewers: ack.viewers, seq: ack.seq })
  }

  function sync(ids: string[], rejoin = false) {
    const want = new Set(ids.slice(0, MAX_JOINED))
    for (const id of joined) {
      if (want.has(id)) continue
      newest.forget(id)
      void emitWithAck('leave-lead', { lead_id: id })
    }
    for (const id of want) if (rejoin || !joined.has(id)) void join(id)
    joined = want
  }

  watch(() => toValue(leadIds), (ids) => sync(ids), { immediate: true })
  const stop = onLiveConnect(() => sync([...joined], true))
  useLiveEvent(EV.viewerJoined, (p) => joined.has(p.lead_id) && take(p.lead_id, p))
  useLiveEvent(EV.viewerLeft, (p) => joined.has(p.lead_id) && take(p.lead_id, p))
  onScopeDispose(() => {
    stop()
    for (const id of joined) void emitWithAck('leave-lead', { lead_id: id })
    joined.clear()
  })

  /** Viewers other than this tab. */
  return { others: (id: string) => Math.max(0, (counts[id] ?? 1) - 1) }
}
