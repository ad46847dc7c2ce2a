/** `GET /v1/client-config`: public settings read before sign-in. */
import { useQuery } from '@tanstack/vue-query'
import { authApi } from '@/api/auth'
import { ApiError } from '@/api/errors'
import { clientConfigKeys } from '@/api/keys'

/** `null` while the API does not offer it (404). */
export function useClientConfig() {
  return useQuery({
    queryKey: clientConfigKeys.all(),
    queryFn: async () => {
      try {
        return await authApi.clientConfig()
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) return null
        throw err
      }
    },
    staleTime: Infinity,
  })
}
