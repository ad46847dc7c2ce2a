/**
 * API error bodies → words a person can act on. The API answers
 * `{"detail": "..."}` or, for 422, `{"detail": [{loc, msg, type}, ...]}`; the
 * latter are mapped to the field they name, so forms show them next to it.
 */

export interface ValidationItem {
  loc?: (string | number)[]
  msg?: string
  type?: string
}

const FALLBACK: Record<number, string> = {
  400: 'The request was not accepted.',
  401: 'Your session has ended. Please sign in again.',
  403: 'You do not have permission to do this.',
  404: 'Not found. It may have been removed, or it belongs to another partner.',
  409: 'This changed since you loaded it.',
  412: 'This changed since you loaded it.',
  413: 'The file is too large.',
  422: 'Some fields need attention.',
  429: 'Too many attempts. Please wait a moment and try again.',
  500: 'The server ran into a problem. Please try again.',
  502: 'A service the platform depends on did not answer. Please try again.',
  503: 'The service is temporarily unavailable. Please try again shortly.',
}

export class ApiError extends Error {
  readonly status: number
  readonly detail: unknown
  /** Messages for a field name (the last string in a 422 `loc`). */
  readonly fields: Record<string, string>
  /** Messages that belong to no field. */
  readonly general: string[]

  /** The whole error body (e.g. a 412's `current` version), and the answer's headers. */
  readonly body: unknown
  readonly headers: Headers | null

  constructor(status: number, detail: unknown, fallback?: string, body?: unknown, headers?: Headers | null) {
    const { fields, general } = describeDetail(status, detail, fallback)
    super(general[0] ?? Object.values(fields)[0] ?? fallback ?? FALLBACK[status] ?? `Error ${status}`)
    this.name = 'ApiError'
    this.status = status
    this.detail = detail
    this.fields = fields
    this.general = general
    this.body = body
    this.headers = headers ?? null
  }

  /** Every message, fields included, as `field: message` lines. */
  get all(): string[] {
    return [...this.general, ...Object.entries(this.fields).map(([k, v]) => `${humanField(k)}: ${v}`)]
  }

  get isConflict(): boolean {
    return this.status === 409
  }
}

/** A network failure or an aborted request: no answer from the server at all. */
export class NetworkError extends Error {
  constructor(message = 'Could not reach the server. Check your connection and try again.') {
    super(message)
    this.name = 'NetworkError'
  }
}

const LOC_ROOTS = new Set(['body', 'query', 'path', 'header', 'cookie'])

function cleanMsg(msg: string): string {
  return msg.replace(/^Value error, /, '').replace(/^Assertion failed, /, '')
}

function humanField(name: string): string {
  return name.replace(/_/g, ' ')
}

export function describeDetail(
  status: number,
  detail: unknown,
  fallback?: string,
): { fields: Record<string, string>; general: string[] } {
  const fields: Record<string, string> = {}
  const general: string[] = []
  if (typeof detail === 'string' && detail.trim()) {
    general.push(detail)
  } else if (Array.isArray(detail)) {
    for (const raw of detail as ValidationItem[]) {
      const msg = cleanMsg(String(raw?.msg ?? 'is not valid'))
      const names = (raw?.loc ?? []).filter((p) => typeof p === 'string' && !LOC_ROOTS.has(p)) as string[]
      const field = names[names.length - 1]
      if (field) {
        fields[field] = fields[field] ? `${fields[field]}; ${msg}` : msg
      } else {
        general.push(msg)
      }
    }
  } else if (detail && typeof detail === 'object' && 'message' in detail) {
    general.push(String((detail as { message: unknown }).message))
  }
  if (!general.length && !Object.keys(fields).length) {
    general.push(fallback ?? FALLBACK[status] ?? `The server answered ${status}.`)
  }
  return { fields, general }
}

/** The message for any thrown value, for places that show one line. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.all.join(' ')
  if (err instanceof Error) return err.message
  return 'Something went wrong.'
}
