import { beforeEach, describe, expect, it, vi } from 'vitest'
import { ApiError, NetworkError } from './errors'
import { buildUrl, configureHttp, request } from './http'

type Call = { url: string; init: RequestInit }

function json(status: number, body?: unknown): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' },
  })
}

/** A fake server: answers in order, records every call. */
function server(...answers: (Response | ((c: Call) => Response))[]) {
  const calls: Call[] = []
  const fetch = vi.fn(async (url: RequestInfo | URL, init?: RequestInit) => {
    const call = { url: String(url), init: init ?? {} }
    calls.push(call)
    const next = answers.shift()
    if (!next) throw new Error(`unexpected request ${call.url}`)
    return typeof next === 'function' ? next(call) : next
  })
  return { calls, fetch: fetch as unknown as typeof globalThis.fetch }
}

const header = (c: Call, name: string) => (c.init.headers as Record<string, string>)[name]

describe('request', () => {
  let expired: ReturnType<typeof vi.fn>
  beforeEach(() => {
    expired = vi.fn(async () => false)
    configureHttp({ cookies: () => 'other=1; pc_csrf=tok%2B123; x=y', onSessionExpired: expired as never })
  })

  it('sends the CSRF cookie as X-CSRF-Token on writes only', async () => {
    const s = server(json(200, {}), json(201, { id: 'n1' }), json(204))
    configureHttp({ fetch: s.fetch })
    await request('/v1/leads')
    await request('/v1/leads/1/notes', { method: 'POST', body: { body: 'hi' } })
    await request('/v1/api-tokens/1', { method: 'DELETE' })
    expect(header(s.calls[0]!, 'X-CSRF-Token')).toBeUndefined()
    expect(header(s.calls[1]!, 'X-CSRF-Token')).toBe('tok+123')
    expect(header(s.calls[1]!, 'Content-Type')).toBe('application/json')
    expect(s.calls[1]!.init.body).toBe('{"body":"hi"}')
    expect(header(s.calls[2]!, 'X-CSRF-Token')).toBe('tok+123')
    expect(s.calls.every((c) => c.init.credentials === 'same-origin')).toBe(true)
  })

  it('refreshes once on 401 and retries the request', async () => {
    const s = server(json(401, { detail: 'expired' }), json(200, {}), json(200, { ok: 1 }))
    configureHttp({ fetch: s.fetch })
    await expect(request('/v1/leads')).resolves.toEqual({ ok: 1 })
    expect(s.calls.map((c) => c.url)).toEqual(['/v1/leads', '/v1/auth/refresh', '/v1/leads'])
    expect(s.calls[1]!.init.method).toBe('POST')
    expect(header(s.calls[1]!, 'X-CSRF-Token')).toBe('tok+123')
    expect(expired).not.toHaveBeenCalled()
  })

  it('shares one refresh between concurrent 401s', async () => {
    const s = server(
      json(401), json(401),
      json(200, {}),
      json(200, { n: 1 }), json(200, { n: 2 }),
    )
    configureHttp({ fetch: s.fetch })
    const [a, b] = await Promise.all([request('/v1/a'), request('/v1/b')])
    expect([a, b]).toEqual([{ n: 1 }, { n: 2 }])
    expect(s.calls.filter((c) => c.url === '/v1/auth/refresh')).toHaveLength(1)
  })

  it('gives up after a failed refresh and reports the session as expired', async () => {
    const s = server(json(401), json(401, { detail: 'spent' }))
    configureHttp({ fetch: s.fetch })
    const err = (await request('/v1/leads').catch((e) => e)) as ApiError
    expect(err).toBeInstanceOf(ApiError)
    expect(err.status).toBe(401)
    expect(expired).toHaveBeenCalledTimes(1)
    expect(s.calls).toHaveLength(2)
  })

  it('does not refresh twice when the retried request is also 401', async () => {
    const s = server(json(401), json(200, {}), json(401))
    configureHttp({ fetch: s.fetch })
    await expect(request('/v1/leads')).rejects.toMatchObject({ status: 401 })
    expect(s.calls.filter((c) => c.url === '/v1/auth/refresh')).toHaveLength(1)
    expect(expired).toHaveBeenCalledTimes(1)
  })

  it('retries after the person signs in again in the expiry dialog', async () => {
    const s = server(json(401), json(401), json(200, { saved: true }))
    configureHttp({ fetch: s.fetch, onSessionExpired: async () => true })
    await expect(request('/v1/leads/1', { method: 'PATCH', body: { stage: 'won' } })).resolves.toEqual({ saved: true })
    expect(s.calls[2]!.init.body).toBe('{"stage":"won"}')
  })

  it('never refreshes for the login call itself', async () => {
    const s = server(json(401, { detail: 'invalid credentials' }))
    configureHttp({ fetch: s.fetch })
    await expect(request('/v1/auth/login', { method: 'POST', body: {} })).rejects.toMatchObject({ status: 401 })
    expect(s.calls).toHaveLength(1)
  })

  it('maps 422 details to their fields', async () => {
    const s = server(
      json(422, {
        detail: [
          { loc: ['body', 'email'], msg: 'value is not a valid email address', type: 'value_error' },
          { loc: ['body', 'password'], msg: 'String should have at least 8 characters', type: 'too_short' },
          { loc: ['body'], msg: 'Value error, stage cannot be null', type: 'value_error' },
        ],
      }),
    )
    configureHttp({ fetch: s.fetch })
    const err = (await request('/v1/users', { method: 'POST', body: {} }).catch((e) => e)) as ApiError
    expect(err.fields).toEqual({
      email: 'value is not a valid email address',
      password: 'String should have at least 8 characters',
    })
    expect(err.general).toEqual(['stage cannot be null'])
  })

  it('uses the string detail as the message, and a fallback without one', async () => {
    const s = server(json(409, { detail: 'the lead changed meanwhile; reload and try again' }), new Response('oops', { status: 502 }))
    configureHttp({ fetch: s.fetch })
    await expect(request('/v1/x')).rejects.toThrow('the lead changed meanwhile; reload and try again')
    await expect(request('/v1/y')).rejects.toThrow(/did not answer/)
  })

  it('names Retry-After on 429', async () => {
    const s = server(new Response('{}', { status: 429, headers: { 'Retry-After': '30' } }))
    configureHttp({ fetch: s.fetch })
    await expect(request('/v1/x')).rejects.toThrow('Try again in 30 seconds')
  })

  it('turns a network failure into a NetworkError', async () => {
    configureHttp({ fetch: (async () => { throw new TypeError('Failed to fetch') }) as never })
    await expect(request('/v1/x')).rejects.toBeInstanceOf(NetworkError)
  })
})

describe('buildUrl', () => {
  it('leaves out empty parameters', () => {
    expect(buildUrl('/v1/leads', { status: 'listed', q: '', stage: undefined, limit: 50, cursor: null })).toBe(
      '/v1/leads?status=listed&limit=50',
    )
    expect(buildUrl('/v1/leads', {})).toBe('/v1/leads')
  })
})
