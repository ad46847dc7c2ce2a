import { computed, onScopeDispose, ref, toValue, type MaybeRefOrGetter } from 'vue'
import { expiresSoon, formatRemaining, remaining } from '@/lib/countdown'

/** A live countdown to `expiresAt`, ticking every second while in scope. */
export function useCountdown(expiresAt: MaybeRefOrGetter<string | Date>, tickMs = 1000) {
  const now = ref(Date.now())
  const timer = setInterval(() => (now.value = Date.now()), tickMs)
  onScopeDispose(() => clearInterval(timer))
  const state = computed(() => remaining(toValue(expiresAt), now.value))
  return {
    state,
    label: computed(() => formatRemaining(state.value)),
    soon: computed(() => expiresSoon(state.value)),
    expired: computed(() => state.value.expired),
  }
}
