/* Generated from src/api/live-events.json (pc_core/models/live_events.py) by npm run gen:events: do not edit. */

export type CompanySize = "1-10" | "11-50" | "51-200" | "201-500" | "501-1000" | "1000+";
/**
 * Canonical deal stages every partner's HubSpot stages are mapped onto.
 */
export type Stage =
  "new" | "contacted" | "meeting_scheduled" | "meeting_held" | "proposal" | "negotiation" | "won" | "lost" | "non_fit";

/**
 * The Socket.IO events the platform sends: event name → payload (pc_core/models/live_events.py).
 */
export interface LiveEvents {
  "lead-assigned": LeadAssigned;
  "lead-listed": LeadListed;
  "lead-released": LeadReleased;
  "lead-reserved": LeadReserved;
  "lead-sold": LeadSold;
  "lead-unlisted": LeadUnlisted;
  "meeting-updated": MeetingUpdated;
  "purchase-updated": PurchaseUpdated;
  "return-updated": ReturnUpdated;
  "search-matched": SearchMatched;
  "stage-updated": StageUpdated;
  "standing-order-filled": StandingOrderFilled;
  "sync-finished": SyncFinished;
  "sync-progress": SyncProgress;
  "viewer-joined": ViewerJoined;
  "viewer-left": ViewerLeft;
}
/**
 * A ChiliPiper booking routed a new lead to the partner.
 *
 * Rooms: partner:{id}
 */
export interface LeadAssigned {
  lead_id: string;
  meeting_id: string;
  meeting_type: string;
  partner_id: string;
  start_time: string;
  title: string;
}
/**
 * A lead went on the market: the listing as ``GET /v1/marketplace/listings``
 * shows it, price included (without ``own``: buyers compare ``seller_partner_id``
 * with their own partner).
 *
 * Rooms: marketplace
 */
export interface LeadListed {
  age_days: number;
  budget_cents: number | null;
  buyer_total_cents: number;
  commission_cents: number;
  company_size: CompanySize | null;
  created_at: string;
  currency: string;
  id: string;
  industry: string | null;
  /**
   * The seller's CRM label of `industry` (HubSpot's option label); null when it has none: show a readable form of `industry`.
   */
  industry_label: string | null;
  lead_id: string;
  location: string | null;
  /**
   * The price after that drop
   */
  next_price_cents: number | null;
  /**
   * When the seller's aging rule next lowers the price
   */
  next_price_drop_at: string | null;
  /**
   * The seller (as seller_partner_id)
   */
  partner_id: string;
  price_cents: number;
  seller_name: string | null;
  seller_partner_id: string;
  /**
   * 0–5 from the seller's return rate and sell-through (ratings.py)
   */
  seller_rating: number | null;
  /**
   * The sales the rating rests on
   */
  seller_rating_count: number;
  stage: Stage;
}
/**
 * A reservation ended without a sale (released, expired): the listing is back
 * (a ``lead-listed`` carries the listing itself).
 *
 * Rooms: marketplace, lead:{id}
 */
export interface LeadReleased {
  lead_id: string;
  reservation_id: string | null;
}
/**
 * A buyer holds the lead: the listing leaves the market.
 *
 * Rooms: marketplace, lead:{id}
 */
export interface LeadReserved {
  lead_id: string;
  reservation_id: string;
}
/**
 * A sale: the marketplace drops the listing, both partners' views update.
 *
 * Rooms: marketplace, lead:{id}, partner:{seller}, partner:{buyer}
 */
export interface LeadSold {
  buyer_partner_id: string;
  lead_id: string;
  seller_partner_id: string;
}
/**
 * The seller took its lead off the market.
 *
 * Rooms: marketplace, lead:{id}
 */
export interface LeadUnlisted {
  lead_id: string;
}
/**
 * A ChiliPiper meeting of the partner's lead was rescheduled or cancelled.
 *
 * Rooms: partner:{id}
 */
export interface MeetingUpdated {
  lead_id: string;
  meeting_id: string;
  partner_id: string;
  start_time: string;
  status: string;
}
/**
 * A purchase changed status: the buyer's checkout and both partners' purchase
 * lists follow it.
 *
 * Rooms: partner:{buyer}, partner:{seller}
 */
export interface PurchaseUpdated {
  buyer_partner_id: string;
  failure_message: string | null;
  lead_id: string;
  purchase_id: string;
  seller_partner_id: string;
  status: "pending" | "completed" | "failed" | "refunded";
}
/**
 * A bad-lead return changed (asked, contested, decided): both partners'
 * purchase pages and the operator's queue follow it.
 *
 * Rooms: partner:{buyer}, partner:{seller}, partner:{operator}
 */
export interface ReturnUpdated {
  buyer_partner_id: string;
  lead_id: string;
  purchase_id: string;
  reason: "unreachable" | "wrong_data" | "outside_criteria" | "already_known" | "duplicate";
  return_id: string;
  seller_partner_id: string;
  status: "requested" | "contested" | "needs_approval" | "accepted" | "rejected";
}
/**
 * A new listing matches a buyer's saved search (``pc_core/buyer_alerts/notices.py``):
 * to the search's owner, or to the buyer partner for a shared search.
 *
 * Rooms: user:{owner}, or partner:{buyer} for a shared search
 */
export interface SearchMatched {
  lead_id: string;
  listing: PublicListing;
  notice_id: string;
  search_id: string;
  search_name: string;
}
/**
 * A listed lead as every buyer sees it (``marketplace.listings.listing_view``),
 * with its price: what the ``lead-listed`` live event carries
 * (``pc_core.models.live_events.LeadListed``).
 */
export interface PublicListing {
  age_days: number;
  budget_cents: number | null;
  buyer_total_cents: number;
  commission_cents: number;
  company_size: CompanySize | null;
  created_at: string;
  currency: string;
  id: string;
  industry: string | null;
  /**
   * The seller's CRM label of `industry` (HubSpot's option label); null when it has none: show a readable form of `industry`.
   */
  industry_label?: string | null;
  location: string | null;
  /**
   * The price after that drop
   */
  next_price_cents?: number | null;
  /**
   * When the seller's aging rule next lowers the price
   */
  next_price_drop_at?: string | null;
  price_cents: number;
  seller_name: string | null;
  seller_partner_id: string;
  /**
   * 0–5 from the seller's return rate and sell-through (ratings.py)
   */
  seller_rating: number | null;
  /**
   * The sales the rating rests on
   */
  seller_rating_count?: number;
  stage: Stage;
}
/**
 * A lead's canonical stage moved (a person's edit or a HubSpot pull).
 *
 * Rooms: lead:{id}, partner:{id}
 */
export interface StageUpdated {
  /**
   * The stage before; null if none
   */
  from: Stage | null;
  lead_id: string;
  partner_id: string;
  to: Stage;
}
/**
 * A buyer's standing order reserved a lead (``pc_core/marketplace/standing_orders.py``).
 *
 * Rooms: partner:{buyer}
 */
export interface StandingOrderFilled {
  lead_id: string;
  order_id: string;
  order_name: string;
  reservation_id: string;
}
/**
 * A sync task ended: succeeded, failed or cancelled.
 *
 * Rooms: partner:{id}
 */
export interface SyncFinished {
  counts: {
    [k: string]: number;
  };
  dagster_run_id: string | null;
  direction: string | null;
  /**
   * How many errors the task recorded
   */
  errors: number;
  partner_id: string;
  status: string;
  step: string | null;
  sync_task_id: string;
  trigger: string | null;
}
/**
 * A sync task started or finished a step.
 *
 * Rooms: partner:{id}
 */
export interface SyncProgress {
  counts: {
    [k: string]: number;
  };
  dagster_run_id: string | null;
  direction: string | null;
  /**
   * How many errors the task recorded
   */
  errors: number;
  partner_id: string;
  status: string;
  step: string | null;
  sync_task_id: string;
  trigger: string | null;
}
/**
 * Someone started viewing the lead (the distinct count moved).
 *
 * Rooms: lead:{id}
 */
export interface ViewerJoined {
  lead_id: string;
  /**
   * The lead's change number: the highest is the newest count
   */
  seq: number;
  viewers: number;
}
/**
 * Someone stopped viewing the lead (the distinct count moved).
 *
 * Rooms: lead:{id}
 */
export interface ViewerLeft {
  lead_id: string;
  /**
   * The lead's change number: the highest is the newest count
   */
  seq: number;
  viewers: number;
}
