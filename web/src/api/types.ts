/**
 * Names for the API's shapes, all taken from the generated `schema.d.ts`
 * (`npm run gen:api`), so a changed API shows up as a type error here.
 */
import type { components } from './schema'

type S = components['schemas']

export type User = S['UserOut']
export type Role = User['role']
export type Partner = S['PartnerOut']
export type PartnerCreate = S['PartnerCreate']
export type PartnerUpdate = S['PartnerUpdate']
export type PartnerStats = S['PartnerStatsOut']
export type Lead = S['LeadOut']
export type LeadPage = S['LeadPage']
export type LeadUpdate = S['LeadUpdate']
export type Note = S['NoteOut']
export type Stage = Lead['stage']
export type LeadStatus = Lead['status']
export type CompanySize = NonNullable<Lead['company_size']>
export type ImportResult = S['ImportResult']
export type Listing = S['ListingOut']
export type ListingPage = S['ListingPage']
export type Reservation = S['ReservationOut']
export type ReservationPage = S['ReservationPage']
export type Purchase = S['PurchaseOut']
export type PurchaseCreated = S['PurchaseCreated']
export type PurchasePage = S['PurchasePage']
export type SavedSearch = S['SavedSearchOut']
export type SavedSearchIn = S['SavedSearchIn']
export type SavedSearchList = S['SavedSearchList']
export type SearchNotice = S['SearchNoticeOut']
export type SearchNoticePage = S['SearchNoticePage']
export type HubSpotStatus = S['HubSpotStatusOut']
export type SyncQueued = S['SyncQueuedOut']
export type SyncTask = S['SyncTaskOut']
export type SyncTaskPage = S['SyncTaskPage']
export type StageMappingItem = S['StageMappingItem']
export type StageMappingIn = S['StageMappingIn']
export type Routing = S['RoutingOut']
export type RoutingConfig = S['RoutingConfig']
export type PreviewIn = S['PreviewIn']
export type PreviewOut = S['PreviewOut']
export type InvoiceSummary = S['InvoiceSummary']
export type Invoice = S['Invoice']
export type InvoicePage = S['InvoicePage']
export type ApiToken = S['ApiTokenOut']
export type ApiTokenCreated = S['ApiTokenCreated']
export type ApiTokenIn = S['ApiTokenIn']
export type UserCreate = S['UserCreate']
export type UserUpdate = S['UserUpdate']
export type TokenOut = S['TokenOut']
export type FunnelOut = S['FunnelOut']
export type UnassignedLead = S['UnassignedLeadOut']
export type UnassignedPage = S['UnassignedPage']
export type AssignIn = S['AssignIn']
export type AssignOut = S['AssignOut']
export type Payouts = S['PayoutsOut']
export type OnboardingLink = S['OnboardingLink']
export type LeadReturn = S['ReturnOut']
export type ReturnPage = S['ReturnPage']
export type ReturnReason = LeadReturn['reason']
export type KnownPage = S['KnownPage']
/** `GET /v1/client-config`: public settings read before sign-in. */
export type ClientConfig = S['ClientConfigOut']

export const STAGES: Stage[] = [
  'new',
  'contacted',
  'meeting_scheduled',
  'meeting_held',
  'proposal',
  'negotiation',
  'won',
  'lost',
  'non_fit',
]
export const STATUSES: LeadStatus[] = ['open', 'listed', 'reserved', 'sold', 'archived']
export const COMPANY_SIZES: CompanySize[] = ['1-10', '11-50', '51-200', '201-500', '501-1000', '1000+']
export const ROLES: Role[] = ['owner', 'admin', 'user']
