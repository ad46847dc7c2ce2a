/**
 * Who is signed in (client state only; the session itself lives in HttpOnly
 * cookies). Also runs the "session expired" flow: when refresh fails mid-use, the
 * re-login dialog opens over the page, so nothing typed is lost, and the waiting
 * requests are retried once the person signs in again.
 */
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { authApi } from '@/api/auth'
import { ApiError } from '@/api/errors'
import type { User } from '@/api/types'

export type SessionStatus = 'unknown' | 'authenticated' | 'anonymous'

export const useSessionStore = defineStore('session', () => {
  const user = ref<User | null>(null)
  const status = ref<SessionStatus>('unknown')
  const expired = ref(false)
  let waiters: ((ok: boolean) => void)[] = []
  let loading: Promise<User | null> | null = null

  const role = computed(() => user.value?.role ?? null)
  const isOwner = computed(() => role.value === 'owner')
  const isAdmin = computed(() => role.value === 'admin')
  /** Admins and the owner write; a `user` only reads. */
  const canWrite = computed(() => role.value === 'owner' || role.value === 'admin')

  function setUser(u: User | null) {
    user.value = u
    status.value = u ? 'authenticated' : 'anonymous'
  }

  /** Ask the API who we are (once per page load unless forced). */
  function load(force = false): Promise<User | null> {
    if (status.value !== 'unknown' && !force) return Promise.resolve(user.value)
    if (!loading) {
      loading = authApi.me()
        .then((u) => {
          setUser(u)
          return u
        })
        .catch((err) => {
          if (err instanceof ApiError && err.status === 401) {
            setUser(null)
            return null
          }
          throw err
        })
        .finally(() => {
          loading = null
        })
    }
    return loading
  }

  async function login(email: string, password: string): Promise<User> {
    const out = await authApi.login(email, password)
    const sameUser = !user.value || user.value.id === out.user.id
    setUser(out.user)
    if (expired.value) resolveExpired(sameUser)
    return out.user
  }

  async function logout(everywhere = false): Promise<void> {
    try {
      if (everywhere) await authApi.logoutEverywhere()
      else await authApi.logout()
    } finally {
      setUser(null)
    }
  }

  /**
   * The http layer's session-expired handler. Before anyone signed in (first
   * load) there is nothing to keep: answer false and let the router send the
   * person to /login. Once signed in, open the dialog and wait for its outcome.
   */
  function onSessionExpired(): Promise<boolean> {
    if (status.value !== 'authenticated') {
      status.value = 'anonymous'
      return Promise.resolve(false)
    }
    expired.value = true
    return new Promise((resolve) => waiters.push(resolve))
  }

  function resolveExpired(ok: boolean) {
    expired.value = false
    const pending = waiters
    waiters = []
    for (const w of pending) w(ok)
  }

  /** The person chose to leave for the sign-in page instead. */
  function abandonSession() {
    resolveExpired(false)
    setUser(null)
  }

  return {
    user,
    status,
    expired,
    role,
    isOwner,
    isAdmin,
    canWrite,
    setUser,
    load,
    login,
    logout,
    onSessionExpired,
    resolveExpired,
    abandonSession,
  }
})
