/**
 * The partner in view. An admin or user always sees its own partner; the owner
 * picks one with the top bar's switcher (remembered in localStorage).
 */
import { defineStore } from 'pinia'
import { computed, ref, watch } from 'vue'
import { useSessionStore } from './session'

const KEY = 'pc.partnerInView'

export const usePartnerStore = defineStore('partner', () => {
  const session = useSessionStore()
  const chosen = ref<string | null>(readStored())

  function readStored(): string | null {
    try {
      return globalThis.localStorage?.getItem(KEY) ?? null
    } catch {
      return null
    }
  }

  watch(chosen, (v) => {
    try {
      if (v) localStorage.setItem(KEY, v)
      else localStorage.removeItem(KEY)
    } catch {
      /* private mode */
    }
  })

  /** The partner every per-partner page shows. */
  const partnerId = computed<string | null>(() => {
    const u = session.user
    if (!u) return null
    if (u.role !== 'owner') return u.partner_id
    return chosen.value ?? u.partner_id
  })

  /** `partner_id` query parameter for owner-scoped list routes (others: none). */
  const scopeQuery = computed(() =>
    session.isOwner && partnerId.value ? { partner_id: partnerId.value } : {},
  )

  function choose(id: string | null) {
    chosen.value = id
  }

  return { partnerId, chosen, scopeQuery, choose }
})
