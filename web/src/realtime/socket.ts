/**
 * The one Socket.IO connection (same origin, `/socket.io`, cookie auth).
 *
 * The server drops a connection when the access token it was opened with
 * expires ("io server disconnect"); we then refresh the session and reconnect.
 * `state` drives the connection dot and the "live updates paused" banner.
 */
import { io, type Socket } from 'socket.io-client'
import { onScopeDispose, ref } from 'vue'
import { refreshSession } from '@/api/http'
import type { LiveEventName, LiveEvents } from './events'

export type LiveState = 'idle' | 'connecting' | 'connected' | 'disconnected'

export const liveState = ref<LiveState>('idle')
/** Set once the connection came back after a drop (for the "back" banner). */
export const liveRestoredAt = ref<number | null>(null)

let socket: Socket | null = null
let everConnected = false
let droppedOnce = false

export function getSocket(): Socket | null {
  return socket
}

export function connectLive(): Socket {
  if (socket) return socket
  liveState.value = 'connecting'
  const s = io({
    path: '/socket.io',
    withCredentials: true,
    transports: ['websocket', 'polling'],
    reconnectionDelay: 500,
    reconnectionDelayMax: 5000,
  })
  s.on('connect', () => {
    liveState.value = 'connected'
    if (everConnected && droppedOnce) liveRestoredAt.value = Date.now()
    everConnected = true
    droppedOnce = false
    for (const fn of onConnectHooks) fn(s)
  })
  s.on('disconnect', async (reason) => {
    liveState.value = 'disconnected'
    droppedOnce = true
    if (reason === 'io server disconnect') {
      // The server ended it (token expiry, or a change of the user's session: a
      // revoked one fails to refresh and stays out): renew the cookie, reconnect.
      await refreshSession()
      s.connect()
    }
  })
  s.on('connect_error', async (err) => {
    liveState.value = 'disconnected'
    if (everConnected) droppedOnce = true
    if (err?.message === 'unauthorized') {
      if (await refreshSession()) setTimeout(() => s.connect(), 200)
    }
  })
  socket = s
  return s
}

export function disconnectLive(): void {
  socket?.disconnect()
  socket = null
  everConnected = false
  droppedOnce = false
  liveState.value = 'idle'
  liveRestoredAt.value = null
}

const onConnectHooks = new Set<(s: Socket) => void>()

/** Run `fn` on every (re)connection: rooms are per connection and must be joined again. */
export function onLiveConnect(fn: (s: Socket) => void): () => void {
  onConnectHooks.add(fn)
  if (socket?.connected) fn(socket)
  return () => onConnectHooks.delete(fn)
}

/** Listen to a server event while the calling component (scope) lives. */
export function useLiveEvent<E extends LiveEventName>(event: E, handler: (payload: LiveEvents[E]) => void): void {
  const s = socket ?? connectLive()
  // The socket itself is untyped; the payload's type is the generated catalogue's.
  const h = (p: unknown) => handler(p as LiveEvents[E])
  s.on(event as string, h)
  onScopeDispose(() => s.off(event as string, h))
}

/** Emit with an acknowledgement, resolving to the server's answer (or null on timeout). */
export function emitWithAck<T = unknown>(event: string, payload: unknown, timeoutMs = 5000): Promise<T | null> {
  const s = socket
  if (!s || !s.connected) return Promise.resolve(null)
  return s
    .timeout(timeoutMs)
    .emitWithAck(event, payload)
    .then((v) => v as T)
    .catch(() => null)
}
