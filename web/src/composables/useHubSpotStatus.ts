/** A partner's HubSpot connection, shared by the dashboard and the HubSpot page. */
import { useQuery } from '@tanstack/vue-query'
import { computed, toValue, type MaybeRefOrGetter } from 'vue'
import { hubspotApi } from '@/api/hubspot'
import { hubspotKeys } from '@/api/keys'

export function useHubSpotStatus(partnerId: MaybeRefOrGetter<string | null>, isOwner: MaybeRefOrGetter<boolean>) {
  return useQuery({
    queryKey: computed(() => hubspotKeys.status(toValue(partnerId))),
    queryFn: () => hubspotApi.status(toValue(isOwner) ? { partner_id: toValue(partnerId) } : {}),
    enabled: computed(() => !!toValue(partnerId)),
  })
}
