import { describe, expect, it, vi } from 'vitest'
import { configureHttp } from './http'
import { changedVersion, leadsApi } from './leads'

const lead = (stage: string) => ({ id: 'L1', stage, amount_cents: 100, notes: [] })

function answer(status: number, body: unknown, etag: string): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ETag: etag } })
}

describe('a lead edit as a conditional request', () => {
  it('keeps the ETag of the version read and sends it back as If-Match', async () => {
    const sent: RequestInit[] = []
    const answers = [answer(200, lead('new'), '"4"'), answer(200, lead('won'), '"5"')]
    configureHttp({
      fetch: vi.fn(async (_url: RequestInfo | URL, init?: RequestInit) => {
        sent.push(init ?? {})
        return answers.shift() as Response
      }) as unknown as typeof fetch,
      cookies: () => '',
    })
    const read = await leadsApi.get('L1')
    expect(read.etag).toBe('"4"')
    const saved = await leadsApi.update('L1', { stage: 'won' }, read.etag)
    expect((sent[1].headers as Record<string, string>)['If-Match']).toBe('"4"')
    expect(saved.etag).toBe('"5"')
  })

  it('turns a 412 into the current version, with its ETag', async () => {
    configureHttp({
      fetch: vi.fn(async () => answer(412, { detail: 'the lead changed since you read it', current: lead('lost') }, '"9"')) as unknown as typeof fetch,
      cookies: () => '',
    })
    const err = await leadsApi.update('L1', { stage: 'won' }, '"4"').catch((e: unknown) => e)
    const current = changedVersion(err)
    expect(current?.stage).toBe('lost')
    expect(current?.etag).toBe('"9"')
    expect(changedVersion(new Error('other'))).toBeNull()
  })
})
