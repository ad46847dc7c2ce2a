/**
 * Routes, each page its own chunk (route-level code splitting). `meta.public`
 * pages need no session; `meta.roles` limits a page to those roles.
 */
import { createRouter, createWebHistory, type Router, type RouteRecordRaw } from 'vue-router'
import type { Role } from '@/api/types'
import { useSessionStore } from '@/stores/session'

declare module 'vue-router' {
  interface RouteMeta {
    public?: boolean
    roles?: Role[]
    title?: string
  }
}

export const routes: RouteRecordRaw[] = [
  {
    path: '/login',
    name: 'login',
    component: () => import('@/features/auth/LoginPage.vue'),
    meta: { public: true, title: 'Sign in' },
  },
  {
    path: '/',
    component: () => import('@/features/shell/AppShell.vue'),
    children: [
      { path: '', name: 'dashboard', component: () => import('@/features/dashboard/DashboardPage.vue'), meta: { title: 'Dashboard' } },
      { path: 'leads', name: 'leads', component: () => import('@/features/leads/LeadsPage.vue'), meta: { title: 'Leads' } },
      { path: 'leads/new', name: 'lead-new', component: () => import('@/features/leads/NewLeadPage.vue'), meta: { title: 'New lead', roles: ['owner', 'admin'] } },
      { path: 'leads/import', name: 'lead-import', component: () => import('@/features/leads/ImportPage.vue'), meta: { title: 'Import leads', roles: ['owner', 'admin'] } },
      { path: 'leads/:id', name: 'lead', component: () => import('@/features/leads/LeadDetailPage.vue'), meta: { title: 'Lead' }, props: true },
      { path: 'marketplace', name: 'marketplace', component: () => import('@/features/marketplace/MarketplacePage.vue'), meta: { title: 'Marketplace' } },
      { path: 'marketplace/reservations', name: 'reservations', component: () => import('@/features/marketplace/ReservationsPage.vue'), meta: { title: 'My reservations' } },
      { path: 'marketplace/matches', name: 'matches', component: () => import('@/features/marketplace/MatchesPage.vue'), meta: { title: 'Saved searches and matches' } },
      { path: 'marketplace/purchases', name: 'purchases', component: () => import('@/features/marketplace/PurchasesPage.vue'), meta: { title: 'Purchases' } },
      { path: 'settings/hubspot', name: 'hubspot', component: () => import('@/features/hubspot/HubSpotPage.vue'), meta: { title: 'HubSpot' } },
      { path: 'agenda', name: 'agenda', component: () => import('@/features/meetings/AgendaPage.vue'), meta: { title: 'Meetings' } },
      { path: 'meetings', name: 'meetings', component: () => import('@/features/meetings/MeetingsPage.vue'), meta: { title: 'Meetings', roles: ['owner'] } },
      { path: 'billing', name: 'billing', component: () => import('@/features/billing/BillingPage.vue'), meta: { title: 'Billing' } },
      { path: 'billing/invoices/:id', name: 'invoice', component: () => import('@/features/billing/InvoicePage.vue'), meta: { title: 'Invoice' }, props: true },
      // Stripe's onboarding returns here (pc_core/marketplace/payouts.py).
      { path: 'settings/payouts', redirect: (to) => ({ path: '/settings', query: { ...to.query, tab: 'payouts' } }) },
      { path: 'settings', name: 'settings', component: () => import('@/features/settings/SettingsPage.vue'), meta: { title: 'Settings' } },
      { path: 'account', name: 'account', component: () => import('@/features/account/AccountPage.vue'), meta: { title: 'Your account' } },
      { path: 'platform/leads', name: 'platform-leads', component: () => import('@/features/owner/AllLeadsPage.vue'), meta: { title: 'All leads', roles: ['owner'] } },
      { path: 'platform', name: 'platform', component: () => import('@/features/owner/PlatformPage.vue'), meta: { title: 'Platform', roles: ['owner'] } },
      { path: 'partners', name: 'partners', component: () => import('@/features/owner/PartnersPage.vue'), meta: { title: 'Partners', roles: ['owner'] } },
      { path: ':pathMatch(.*)*', name: 'not-found', component: () => import('@/features/shell/NotFoundPage.vue'), meta: { title: 'Not found' } },
    ],
  },
]

export function createAppRouter() {
  const router = createRouter({
    history: createWebHistory(),
    routes,
    scrollBehavior: (_to, _from, saved) => saved ?? { top: 0 },
  })

  router.beforeEach(async (to) => {
    const session = useSessionStore()
    if (to.meta.public) {
      if (to.name === 'login' && session.status !== 'anonymous') {
        const user = await session.load().catch(() => null)
        if (user) return safeNext(to.query.next) ?? '/'
      }
      return true
    }
    const user = await session.load().catch(() => null)
    if (!user) return { name: 'login', query: { next: to.fullPath } }
    if (to.meta.roles && !to.meta.roles.includes(user.role)) return { name: 'dashboard' }
    return true
  })

  router.afterEach((to) => {
    document.title = to.meta.title ? `${to.meta.title} · Partner Connector` : 'Partner Connector'
  })
  return router
}

/** Only same-app paths are followed after sign-in (no open redirect). */
/**
 * Start loading the code of the page at `path` (the shell and the page's chunk, with
 * their CSS and shared chunks) without navigating: the sign-in page does it while the
 * person types and while the sign-in request runs, so the page after it shows as soon
 * as the session exists instead of downloading its code then. Every route component
 * here is a lazy `() => import(...)`; a failed load is left to the navigation, which
 * loads it again and reports it.
 */
export function preloadRoute(router: Router, path: string): void {
  for (const record of router.resolve(path).matched) {
    for (const component of Object.values(record.components ?? {})) {
      if (typeof component === 'function') void (component as () => Promise<unknown>)().catch(() => undefined)
    }
  }
}

export function safeNext(next: unknown): string | null {
  const v = Array.isArray(next) ? next[0] : next
  if (typeof v !== 'string' || !v.startsWith('/') || v.startsWith('//') || v.startsWith('/\\')) return null
  if (v.startsWith('/login')) return null
  return v
}
