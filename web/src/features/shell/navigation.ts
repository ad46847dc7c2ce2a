import type { Role } from '@/api/types'

export interface NavItem {
  to: string
  label: string
  roles?: Role[]
}

/** The left navigation (design: web.md "Layout"); Meeting routing, Platform and Partners are the owner's. */
export const NAV: NavItem[] = [
  { to: '/', label: 'Dashboard' },
  { to: '/leads', label: 'Leads' },
  { to: '/marketplace', label: 'Marketplace' },
  { to: '/agenda', label: 'Meetings' },
  { to: '/meetings', label: 'Meeting routing', roles: ['owner'] },
  { to: '/billing', label: 'Billing' },
  { to: '/settings/hubspot', label: 'HubSpot' },
  { to: '/settings', label: 'Settings' },
  { to: '/platform', label: 'Platform', roles: ['owner'] },
  { to: '/partners', label: 'Partners', roles: ['owner'] },
]

export function navFor(role: Role | null): NavItem[] {
  return NAV.filter((n) => !n.roles || (role !== null && n.roles.includes(role)))
}
