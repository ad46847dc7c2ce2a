import { describe, expect, it } from 'vitest'
import { centsToInput, enumLabel, formatMoney, formatRelative, humanize, parseMoneyToCents, valueLabel } from './format'

describe('money', () => {
  it('formats integer cents in the currency', () => {
    expect(formatMoney(123456, 'usd', 'en-US')).toBe('$1,234.56')
    expect(formatMoney(5, 'usd', 'en-US')).toBe('$0.05')
    expect(formatMoney(100000, 'eur', 'de-DE').replace(/\u00a0/g, ' ')).toBe('1.000,00 €')
    expect(formatMoney(null)).toBe('—')
  })

  it('parses what people type into cents without float drift', () => {
    expect(parseMoneyToCents('1,234.5')).toBe(123450)
    expect(parseMoneyToCents('$19.99')).toBe(1999)
    expect(parseMoneyToCents('0.10')).toBe(10)
    expect(parseMoneyToCents('12')).toBe(1200)
    expect(parseMoneyToCents('')).toBeNull()
    expect(parseMoneyToCents('12.345')).toBeUndefined()
    expect(parseMoneyToCents('abc')).toBeUndefined()
    expect(parseMoneyToCents('-5')).toBeUndefined()
  })

  it('round-trips cents through the input format', () => {
    for (const c of [0, 5, 10, 99, 100, 123456, 1999]) expect(parseMoneyToCents(centsToInput(c))).toBe(c)
    expect(centsToInput(null)).toBe('')
  })
})

describe('time and words', () => {
  it('says how long ago', () => {
    const now = new Date('2026-01-10T12:00:00Z')
    expect(formatRelative('2026-01-10T11:59:50Z', now)).toBe('just now')
    expect(formatRelative('2026-01-10T11:55:00Z', now)).toMatch(/5 minutes ago/)
    expect(formatRelative('2026-01-09T12:00:00Z', now)).toMatch(/yesterday|1 day ago/)
    expect(formatRelative(null, now)).toBe('—')
  })

  it('labels HubSpot enumerations and keeps words and codes', () => {
    expect(enumLabel('INFORMATION_TECHNOLOGY_AND_SERVICES')).toBe('Information technology and services')
    expect(enumLabel('COMPUTER_SOFTWARE')).toBe('Computer software')
    expect(enumLabel('ACCOUNTING')).toBe('Accounting')
    expect(enumLabel('SaaS')).toBe('SaaS')
    expect(enumLabel('US')).toBe('US')
    expect(enumLabel('EMEA')).toBe('EMEA')
    expect(enumLabel(null)).toBe('—')
  })

  it("prefers the CRM's own label and falls back to a readable value", () => {
    expect(valueLabel('HOSPITAL_HEALTH_CARE', 'Hospital & Health Care')).toBe('Hospital & Health Care')
    expect(valueLabel('HOSPITAL_HEALTH_CARE', null)).toBe('Hospital health care')
    expect(valueLabel('HOSPITAL_HEALTH_CARE')).toBe('Hospital health care')
    expect(valueLabel(null, null)).toBe('—')
  })

  it('humanizes enum values', () => {
    expect(humanize('meeting_scheduled')).toBe('Meeting scheduled')
    expect(humanize(undefined)).toBe('—')
  })
})
