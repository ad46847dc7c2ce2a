/** A partner's people (`/v1/users`) and API tokens (`/v1/api-tokens`). */
import { api, type Query } from './http'
import type { ApiToken, ApiTokenCreated, ApiTokenIn, User, UserCreate, UserUpdate } from './types'

export const usersApi = {
  list: (query: Query) => api.get<User[]>('/v1/users', query),
  create: (body: UserCreate) => api.post<User>('/v1/users', body),
  update: (id: string, body: UserUpdate) => api.patch<User>(`/v1/users/${encodeURIComponent(id)}`, body),
}

export const apiTokensApi = {
  list: (query: Query) => api.get<ApiToken[]>('/v1/api-tokens', query),
  create: (body: ApiTokenIn) => api.post<ApiTokenCreated>('/v1/api-tokens', body),
  revoke: (id: string) => api.del(`/v1/api-tokens/${encodeURIComponent(id)}`),
}
