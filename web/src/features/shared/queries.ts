/** Server state shared by several pages, behind TanStack Query keys. */
import { useQuery } from '@tanstack/vue-query'
import { computed, toValue, type MaybeRefOrGetter } from 'vue'
import { api } from '@/api/http'
import { ApiError } from '@/api/errors'
import type { ClientConfig, HubSpotStatus, Partner } from '@/api/types'
import { useSessionStore } from '@/stores/session'

export function usePartners() {
  const session = useSessionStore()
  return useQuery({
    queryKey: ['partners'],
    queryFn: () => api.get<Partner[]>('/v1/partners'),
    enabled: computed(() => session.status === 'authenticated'),
    staleTime: 60_000,
  })
}

export function usePartner(id: MaybeRefOrGetter<string | null>) {
  return useQuery({
    queryKey: computed(() => ['partner', toValue(id)]),
    queryFn: () => api.get<Partner>(`/v1/partners/${toValue(id)}`),
    enabled: computed(() => !!toValue(id)),
    staleTime: 60_000,
  })
}

export function useHubSpotStatus(partnerId: MaybeRefOrGetter<string | null>, isOwner: MaybeRefOrGetter<boolean>) {
  return useQuery({
    queryKey: computed(() => ['hubspot-status', toValue(partnerId)]),
    queryFn: () =>
      api.get<HubSpotStatus>('/v1/integrations/hubspot/status', toValue(isOwner) ? { partner_id: toValue(partnerId) } : {}),
    enabled: computed(() => !!toValue(partnerId)),
  })
}

/** `GET /v1/client-config`; `null` while the API does not offer it (404). */
export function useClientConfig() {
  return useQuery({
    queryKey: ['client-config'],
    queryFn: async () => {
      try {
        return await api.get<ClientConfig>('/v1/client-config')
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) return null
        throw err
      }
    },
    staleTime: Infinity,
  })
}
