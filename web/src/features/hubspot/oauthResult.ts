/** The OAuth round trip's answer (`/settings/hubspot?success=true` or `?error=<code>`) in words. */

const MESSAGES: Record<string, string> = {
  access_denied: 'HubSpot access was not granted. Connect again and choose “Connect app” on HubSpot’s page.',
  missing_code: 'HubSpot did not send an authorisation code. Please try connecting again.',
  exchange_failed: 'HubSpot did not accept the authorisation. Please try connecting again in a moment.',
  portal_already_connected: 'That HubSpot portal is already connected to another partner. Use a different portal, or disconnect it there first.',
  partner_not_found: 'The partner this connection was started for no longer exists.',
  state_expired: 'The connection took too long and expired. Please start again.',
  invalid_state: 'The connection could not be verified (it was already used, or started in another browser). Please start again from this page.',
  user_not_allowed: 'Your account may no longer connect HubSpot for this partner.',
}

export interface OAuthResult {
  ok: boolean
  message: string
}

export function oauthResult(query: Record<string, unknown>): OAuthResult | null {
  const pick = (v: unknown) => (Array.isArray(v) ? v[0] : v)
  if (pick(query.success) === 'true') return { ok: true, message: 'HubSpot is connected. The first sync starts within a minute.' }
  const code = pick(query.error)
  if (typeof code === 'string' && code) {
    return { ok: false, message: MESSAGES[code] ?? `HubSpot could not be connected (${code.replace(/_/g, ' ')}). Please try again.` }
  }
  return null
}
