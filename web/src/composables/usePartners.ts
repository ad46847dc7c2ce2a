/** The partners every page may need (the switcher, names in lists), cached a minute. */
import { useQuery } from '@tanstack/vue-query'
import { computed, toValue, type MaybeRefOrGetter } from 'vue'
import { partnerKeys } from '@/api/keys'
import { partnersApi } from '@/api/partners'
import { useSessionStore } from '@/stores/session'

export function usePartners() {
  const session = useSessionStore()
  return useQuery({
    queryKey: partnerKeys.lists(),
    queryFn: () => partnersApi.list(),
    enabled: computed(() => session.status === 'authenticated'),
    staleTime: 60_000,
  })
}

export function usePartner(id: MaybeRefOrGetter<string | null>) {
  return useQuery({
    queryKey: computed(() => partnerKeys.detail(toValue(id))),
    queryFn: () => partnersApi.get(toValue(id) as string),
    enabled: computed(() => !!toValue(id)),
    staleTime: 60_000,
  })
}
