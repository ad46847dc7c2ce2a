/** A seller's payouts (`/v1/payouts`): Stripe Connect onboarding, balance, payouts. */
import { api } from './http'
import type { OnboardingLink, Payouts } from './types'

export const payoutsApi = {
  view: (partnerId: string) => api.get<Payouts>('/v1/payouts', { partner_id: partnerId }),
  /** A link to Stripe's hosted onboarding page for the partner's connected account. */
  onboarding: (partnerId: string) =>
    api.post<OnboardingLink>('/v1/payouts/onboarding', undefined, { partner_id: partnerId }),
}
