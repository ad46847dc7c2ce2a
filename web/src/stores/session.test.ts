import { beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { configureHttp, request } from '@/api/http'
import { useSessionStore } from './session'

const user = (id = 'u1', role = 'admin') => ({
  id, email: `${id}@x.test`, name: '', role, partner_id: 'p1', active: true,
  created_at: '2026-01-01T00:00:00Z', updated_at: '2026-01-01T00:00:00Z',
})
const json = (status: number, body?: unknown) =>
  new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })

describe('session store', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
    configureHttp({ cookies: () => 'pc_csrf=c' })
  })

  it('knows the role and whether it may write', async () => {
    const s = useSessionStore()
    configureHttp({ fetch: vi.fn(async () => json(200, user('u1', 'user'))) as never })
    await s.load()
    expect(s.status).toBe('authenticated')
    expect(s.canWrite).toBe(false)
    s.setUser(user('u2', 'owner') as never)
    expect([s.isOwner, s.canWrite]).toEqual([true, true])
  })

  it('is anonymous when /me and refresh both say 401', async () => {
    const s = useSessionStore()
    configureHttp({ fetch: vi.fn(async () => json(401)) as never, onSessionExpired: () => s.onSessionExpired() })
    await expect(s.load()).resolves.toBeNull()
    expect(s.status).toBe('anonymous')
    expect(s.expired).toBe(false)
  })

  it('holds a request open across re-login and retries it', async () => {
    const s = useSessionStore()
    s.setUser(user() as never)
    const answers = [json(401), json(401), json(200, { access_token: 't', token_type: 'bearer', expires_in: 1, refresh_token: 'r', user: user() }), json(200, { ok: true })]
    const fetch = vi.fn(async () => answers.shift()!)
    configureHttp({ fetch: fetch as never, onSessionExpired: () => s.onSessionExpired() })
    const pending = request('/v1/leads/1', { method: 'PATCH', body: { stage: 'won' } })
    await vi.waitFor(() => expect(s.expired).toBe(true))
    await s.login('u1@x.test', 'pw')
    await expect(pending).resolves.toEqual({ ok: true })
    expect(s.expired).toBe(false)
  })

  it('fails the waiting request when the person leaves for the sign-in page', async () => {
    const s = useSessionStore()
    s.setUser(user() as never)
    configureHttp({ fetch: vi.fn(async () => json(401)) as never, onSessionExpired: () => s.onSessionExpired() })
    const pending = request('/v1/leads').catch((e) => e.status)
    await vi.waitFor(() => expect(s.expired).toBe(true))
    s.abandonSession()
    await expect(pending).resolves.toBe(401)
    expect(s.status).toBe('anonymous')
  })
})
