/** Read one cookie from `document.cookie`-formatted text. */
export function readCookie(name: string, cookieText: string = globalThis.document?.cookie ?? ''): string | null {
  for (const part of cookieText.split(';')) {
    const eq = part.indexOf('=')
    if (eq < 0) continue
    if (part.slice(0, eq).trim() === name) {
      const raw = part.slice(eq + 1).trim()
      try {
        return decodeURIComponent(raw)
      } catch {
        return raw
      }
    }
  }
  return null
}
