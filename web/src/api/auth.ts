/** Sign-in and the public client settings (`/v1/auth`, `/v1/client-config`). */
import { api, request } from './http'
import type { ClientConfig, TokenOut, User } from './types'

export const authApi = {
  me: () => request<User>('/v1/auth/me', { noAuthRetry: false }),
  login: (email: string, password: string) =>
    request<TokenOut>('/v1/auth/login', { method: 'POST', body: { email, password }, noAuthRetry: true }),
  logout: () => request('/v1/auth/logout', { method: 'POST', noAuthRetry: true }),
  logoutEverywhere: () => api.post('/v1/auth/logout-all'),
  /** The signed-in person's own name. */
  updateMe: (body: { name: string }) => api.patch<User>('/v1/auth/me', body),
  /** A new password (the current one asked); every other session ends. */
  changePassword: (currentPassword: string, newPassword: string) =>
    api.post<{ user: User }>('/v1/auth/me/password', {
      current_password: currentPassword,
      new_password: newPassword,
    }),
  clientConfig: () => api.get<ClientConfig>('/v1/client-config'),
}
