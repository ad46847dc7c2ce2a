import { describe, expect, it } from 'vitest'
import { oauthResult } from './oauthResult'

describe('OAuth result', () => {
  it('reads success and known errors', () => {
    expect(oauthResult({ success: 'true' })).toMatchObject({ ok: true })
    expect(oauthResult({ error: 'access_denied' })?.message).toMatch(/not granted/)
    expect(oauthResult({ error: ['state_expired'] })?.message).toMatch(/expired/)
  })
  it('names an unknown error code rather than hiding it', () => {
    expect(oauthResult({ error: 'weird_thing' })).toEqual({ ok: false, message: expect.stringContaining('weird thing') })
  })
  it('is null without either', () => {
    expect(oauthResult({})).toBeNull()
    expect(oauthResult({ success: 'false' })).toBeNull()
  })
})
