/** The owner's platform overview (`/v1/platform`). */
import { api } from './http'
import type { components } from './schema'

export type PlatformOverview = components['schemas']['PlatformOverview']

export const platformApi = {
  overview: () => api.get<PlatformOverview>('/v1/platform/overview'),
}
