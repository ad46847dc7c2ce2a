/**
 * The one fetch wrapper every API call goes through.
 *
 * - Same-origin cookies carry the session (`pc_access`, `pc_refresh`, HttpOnly).
 * - Every write sends `X-CSRF-Token` = the `pc_csrf` cookie (double submit).
 * - A 401 triggers one `POST /v1/auth/refresh` (shared by concurrent callers) and
 *   one retry; if that fails the session-expired handler decides: re-login in place
 *   (the page and what was typed stay) and retry, or go to /login?next=...
 * - Error bodies become `ApiError`s whose messages name their fields.
 */
import { readCookie } from '@/lib/cookies'
import { ApiError, NetworkError } from './errors'

export type Query = Record<string, string | number | boolean | null | undefined>

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  query?: Query
  body?: unknown
  headers?: Record<string, string>
  signal?: AbortSignal
  /** Do not attempt refresh / re-login on 401 (auth routes themselves). */
  noAuthRetry?: boolean
}

export const CSRF_COOKIE = 'pc_csrf'
export const CSRF_HEADER = 'X-CSRF-Token'
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
const AUTH_PATHS = ['/v1/auth/login', '/v1/auth/refresh']

/**
 * Called when refresh failed. Resolve `true` once the person signed in again
 * (the request is retried), `false` to give up (the caller gets the 401).
 */
export type SessionExpiredHandler = () => Promise<boolean>

interface Config {
  fetch: typeof fetch
  cookies: () => string
  onSessionExpired: SessionExpiredHandler
}

const config: Config = {
  fetch: (...args) => globalThis.fetch(...args),
  cookies: () => globalThis.document?.cookie ?? '',
  onSessionExpired: async () => false,
}

export function configureHttp(partial: Partial<Config>): void {
  Object.assign(config, partial)
}

export function buildUrl(path: string, query?: Query): string {
  if (!query) return path
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue
    params.set(k, String(v))
  }
  const qs = params.toString()
  return qs ? `${path}${path.includes('?') ? '&' : '?'}${qs}` : path
}

/** Headers for a request: JSON accept, and the CSRF token on writes. */
export function requestHeaders(method: string, extra: Record<string, string> = {}): Record<string, string> {
  const headers: Record<string, string> = { Accept: 'application/json', ...extra }
  if (UNSAFE.has(method.toUpperCase())) {
    const token = readCookie(CSRF_COOKIE, config.cookies())
    if (token) headers[CSRF_HEADER] = token
  }
  return headers
}

let refreshing: Promise<boolean> | null = null

/** One refresh at a time; every 401 arriving meanwhile waits for the same one. */
export function refreshSession(): Promise<boolean> {
  if (!refreshing) {
    refreshing = (async () => {
      try {
        const res = await config.fetch('/v1/auth/refresh', {
          method: 'POST',
          credentials: 'same-origin',
          headers: requestHeaders('POST'),
        })
        return res.ok
      } catch {
        return false
      }
    })().finally(() => {
      refreshing = null
    })
  }
  return refreshing
}

async function parseBody(res: Response): Promise<unknown> {
  if (res.status === 204) return undefined
  const text = await res.text()
  if (!text) return undefined
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

async function toError(res: Response): Promise<ApiError> {
  const body = await parseBody(res)
  let detail: unknown = undefined
  if (body && typeof body === 'object' && 'detail' in body) detail = (body as { detail: unknown }).detail
  let fallback: string | undefined
  if (res.status === 429) {
    const after = res.headers.get('Retry-After')
    if (after) fallback = `Too many attempts. Try again in ${after} seconds.`
  }
  if (typeof detail !== 'string' && !Array.isArray(detail)) detail = undefined
  return new ApiError(res.status, detail, fallback, body, res.headers)
}

function isAuthPath(path: string): boolean {
  return AUTH_PATHS.some((p) => path.startsWith(p))
}

/**
 * Run `send` (which performs one HTTP exchange), applying the refresh-once rule.
 * Shared by `request` (fetch) and `upload` (XMLHttpRequest).
 */
export async function withSessionRetry<T extends { status: number }>(
  path: string,
  send: () => Promise<T>,
  noAuthRetry = false,
): Promise<T> {
  const first = await send()
  if (first.status !== 401 || noAuthRetry || isAuthPath(path)) return first
  if (await refreshSession()) {
    const second = await send()
    if (second.status !== 401) return second
  }
  if (await config.onSessionExpired()) return send()
  return first
}

/** An answer's body and headers (e.g. a resource's `ETag`). */
export interface Exchange<T> {
  body: T
  headers: Headers
}

export async function request<T = unknown>(path: string, opts: RequestOptions = {}): Promise<T> {
  return (await exchange<T>(path, opts)).body
}

/** `request`, keeping the answer's headers. */
export async function exchange<T = unknown>(path: string, opts: RequestOptions = {}): Promise<Exchange<T>> {
  const method = opts.method ?? 'GET'
  const url = buildUrl(path, opts.query)
  const isForm = typeof FormData !== 'undefined' && opts.body instanceof FormData
  const send = async () => {
    const extra: Record<string, string> = { ...(opts.headers ?? {}) }
    let body: BodyInit | undefined
    if (opts.body !== undefined) {
      if (isForm) body = opts.body as FormData
      else {
        extra['Content-Type'] = 'application/json'
        body = JSON.stringify(opts.body)
      }
    }
    try {
      return await config.fetch(url, {
        method,
        body,
        credentials: 'same-origin',
        headers: requestHeaders(method, extra),
        signal: opts.signal,
      })
    } catch (err) {
      if ((err as Error)?.name === 'AbortError') throw err
      throw new NetworkError()
    }
  }
  const res = await withSessionRetry(path, send, opts.noAuthRetry)
  if (!res.ok) throw await toError(res)
  return { body: (await parseBody(res)) as T, headers: res.headers }
}

export const api = {
  get: <T>(path: string, query?: Query, signal?: AbortSignal) => request<T>(path, { query, signal }),
  post: <T>(path: string, body?: unknown, query?: Query) => request<T>(path, { method: 'POST', body, query }),
  put: <T>(path: string, body?: unknown, query?: Query) => request<T>(path, { method: 'PUT', body, query }),
  patch: <T>(path: string, body?: unknown, query?: Query) => request<T>(path, { method: 'PATCH', body, query }),
  del: <T = void>(path: string, query?: Query) => request<T>(path, { method: 'DELETE', query }),
}

export interface UploadResult {
  status: number
  body: unknown
}

/**
 * POST a form with upload progress (fetch cannot report it): XMLHttpRequest,
 * same CSRF header and refresh-once rule as `request`.
 */
export async function upload<T>(
  path: string,
  form: FormData,
  onProgress?: (fraction: number) => void,
  query?: Query,
): Promise<T> {
  const url = buildUrl(path, query)
  const send = () =>
    new Promise<UploadResult>((resolve, reject) => {
      const xhr = new XMLHttpRequest()
      xhr.open('POST', url)
      xhr.withCredentials = true
      for (const [k, v] of Object.entries(requestHeaders('POST'))) xhr.setRequestHeader(k, v)
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable && onProgress) onProgress(e.loaded / e.total)
      }
      xhr.onload = () => {
        let body: unknown = xhr.responseText
        try {
          body = xhr.responseText ? JSON.parse(xhr.responseText) : undefined
        } catch {
          /* not JSON */
        }
        resolve({ status: xhr.status, body })
      }
      xhr.onerror = () => reject(new NetworkError())
      xhr.send(form)
    })
  const res = await withSessionRetry(path, send)
  if (res.status < 200 || res.status >= 300) {
    const body = res.body as { detail?: unknown } | undefined
    const detail = body && typeof body === 'object' ? body.detail : undefined
    throw new ApiError(res.status, typeof detail === 'string' || Array.isArray(detail) ? detail : undefined)
  }
  onProgress?.(1)
  return res.body as T
}
