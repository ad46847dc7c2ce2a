import type { Role } from '@/api/types'

export interface NavItem {
  to: string
  label: string
  roles?: Role[]
}

/** The left navigation (design: web.md "Layout"); Meetings and Partners are the owner's. */
export const NAV: NavItem[] = [
  { to: '/', label: 'Dashboard' },
  { to: '/leads', label: 'Leads' },
  { to: '/marketplace', label: 'Marketplace' },
  { to: '/meetings', label: 'Meetings', roles: ['owner'] },
  { to: '/billing', label: 'Billing' },
  { to: '/settings/hubspot', label: 'HubSpot' },
  { to: '/settings', label: 'Settings' },
  { to: '/partners', label: 'Partners', roles: ['owner'] },
]

export function navFor(role: Role | null): NavItem[] {
  return NAV.filter((n) => !n.roles || (role !== null && n.roles.includes(role)))
}
