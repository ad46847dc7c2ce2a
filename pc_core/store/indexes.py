"""Every collection's indexes, declared in one place and created at start-up.

Each list endpoint, pipeline query and pending-work queue is backed by one of
these (collection names from ``pc_core.collections``, so this module needs no
domain module). Lead pages are
keyset-paginated on ``sort_key`` (creation time + id), and every filter combination
the API offers has an index ending in ``sort_key``: on the embedded store an
aggregation ``$match`` on those fields + ``$sort`` on ``sort_key`` + ``$limit`` is
served from the index in a few milliseconds at 100,000 leads, where a ``find`` with
``sort`` scans (see bench/leads_list_bench.py).
"""

from __future__ import annotations

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.database import Database

from pc_core import collections as c
from pc_core.store.batch import is_mongodb


def _idx(*keys: tuple[str, int], unique: bool = False, name: str | None = None) -> IndexModel:
    kwargs: dict = {"unique": unique}
    if name:
        kwargs["name"] = name
    return IndexModel(list(keys), **kwargs)


INDEXES: dict[str, list[IndexModel]] = {
    c.USERS: [
        _idx(("email", ASCENDING), unique=True, name="uniq_email"),
        _idx(("partner_id", ASCENDING), ("created_at", ASCENDING)),
    ],
    c.REFRESH_TOKENS: [
        _idx(("family_id", ASCENDING)),
        _idx(("expires_at", ASCENDING)),
    ],
    # "Sign out everywhere" and password changes revoke a user's sign-ins.
    c.REFRESH_FAMILIES: [_idx(("user_id", ASCENDING))],
    c.PARTNERS: [
        _idx(("slug", ASCENDING), unique=True, name="uniq_slug"),
        _idx(("hubspot.portal_id", ASCENDING)),
        # account.updated finds the seller by its connected account.
        _idx(("stripe_account_id", ASCENDING)),
    ],
    # Returns (pc_core/returns/flow.py): a partner's as buyer or seller, the
    # owner's queue by status, the seller deadlines the schedule accepts.
    c.RETURNS: [
        _idx(("buyer_partner_id", ASCENDING), ("sort_key", DESCENDING)),
        _idx(("seller_partner_id", ASCENDING), ("sort_key", DESCENDING)),
        _idx(("status", ASCENDING), ("sort_key", DESCENDING)),
        _idx(("status", ASCENDING), ("seller_due_key", ASCENDING)),
    ],
    c.LEADS: [
        _idx(("sort_key", DESCENDING)),
        _idx(("partner_id", ASCENDING), ("sort_key", DESCENDING)),
        _idx(("partner_id", ASCENDING), ("status", ASCENDING), ("sort_key", DESCENDING)),
        _idx(("partner_id", ASCENDING), ("stage", ASCENDING), ("sort_key", DESCENDING)),
        _idx(("status", ASCENDING), ("sort_key", DESCENDING)),
        _idx(("stage", ASCENDING), ("sort_key", DESCENDING)),
        _idx(("buyer_partner_id", ASCENDING), ("sort_key", DESCENDING)),
        _idx(("partner_id", ASCENDING), ("hubspot_contact_id", ASCENDING)),
        # A partner's meetings (pc_core/meetings/agenda.py), and the owner's across partners.
        _idx(("partner_id", ASCENDING), ("scheduled_date", ASCENDING)),
        _idx(("scheduled_date", ASCENDING)),
        # Pushback (pc_core/hubspot/sync_back/pushback.py): leads edited in the platform since the
        # last push, per partner (the run) and across partners (the sensor).
        _idx(("partner_id", ASCENDING), ("push_pending", ASCENDING)),
        _idx(("push_pending", ASCENDING)),
        # Marketplace listings: status + one equality filter + sort_key.
        _idx(("status", ASCENDING), ("industry", ASCENDING), ("sort_key", DESCENDING)),
        _idx(("status", ASCENDING), ("company_size", ASCENDING), ("sort_key", DESCENDING)),
        _idx(("status", ASCENDING), ("location", ASCENDING), ("sort_key", DESCENDING)),
        # The known-contact check (pc_core/marketplace/known_contacts.py): a partner's
        # leads by hashed e-mail / domain key (multikey).
        _idx(("partner_id", ASCENDING), ("match_keys", ASCENDING)),
        # The operator's unassigned queue (pc_core/meetings/unassigned.py).
        _idx(("unassigned", ASCENDING), ("status", ASCENDING), ("sort_key", DESCENDING)),
    ],
    # Marketplace (pc_core/marketplace): the buyer's reservations page, the expiry
    # job's due reservations (status + fixed-width ISO expiry text), purchases of a
    # partner as buyer or seller, purchases by PaymentIntent (webhooks).
    c.RESERVATIONS: [
        _idx(("buyer_partner_id", ASCENDING), ("sort_key", DESCENDING)),
        _idx(("buyer_partner_id", ASCENDING), ("status", ASCENDING), ("sort_key", DESCENDING)),
        _idx(("status", ASCENDING), ("expires_key", ASCENDING)),
        _idx(("lead_id", ASCENDING)),
        _idx(("sort_key", DESCENDING)),
    ],
    c.RESERVATION_SLOTS: [_idx(("partner_id", ASCENDING))],
    c.PURCHASES: [
        _idx(("buyer_partner_id", ASCENDING), ("sort_key", DESCENDING)),
        _idx(("seller_partner_id", ASCENDING), ("sort_key", DESCENDING)),
        _idx(("payment_intent_id", ASCENDING)),
        _idx(("reservation_id", ASCENDING)),
        _idx(("sort_key", DESCENDING)),
        _idx(("month", ASCENDING), ("buyer_partner_id", ASCENDING)),
        _idx(("refund_month", ASCENDING), ("buyer_partner_id", ASCENDING)),
        # purchases by status: the pc_purchases{status} figure of /metrics
        _idx(("status", ASCENDING)),
    ],
    # Billing (pc_core/billing): a month's purchases by the indexed month strings,
    # one buyer's month for corrections; invoices by month, partner pages, Stripe id.
    c.INVOICES: [
        _idx(("month", ASCENDING)),
        _idx(("partner_id", ASCENDING), ("sort_key", DESCENDING)),
        _idx(("partner_id", ASCENDING), ("status", ASCENDING), ("sort_key", DESCENDING)),
        _idx(("month", ASCENDING), ("sort_key", DESCENDING)),
        _idx(("status", ASCENDING), ("sort_key", DESCENDING)),
        _idx(("sort_key", DESCENDING)),
        _idx(("stripe_invoice_id", ASCENDING)),
    ],
    c.STRIPE_EVENTS: [_idx(("status", ASCENDING))],
    # ChiliPiper meetings (pc_core/meetings): _id is the natural key; by lead for the
    # lead page, by start time for the daily reminders.
    # Monthly routing counters are read per month on every booking (routing.py), so
    # that read stays the size of one month's partners, not of every month so far.
    c.ROUTING_COUNTS: [_idx(("month", ASCENDING))],
    c.MEETINGS: [
        _idx(("lead_id", ASCENDING)),
        _idx(("partner_id", ASCENDING), ("start_time", ASCENDING)),
        # lead-assigned notices not yet settled (pc_core/meetings/notify.py)
        _idx(("notify_pending", ASCENDING), ("updated_at", ASCENDING)),
    ],
    # API tokens (pc_core/identity/api_tokens.py): looked up by _id; listed per partner.
    c.API_TOKENS: [_idx(("partner_id", ASCENDING), ("created_at", DESCENDING))],
    c.EMAILS: [_idx(("status", ASCENDING))],
    # Raw HubSpot pulls (pc_core/hubspot/pull/raw_store.py): the lead builder reads a
    # partner's dirty documents; everything else is addressed by _id. The known-contact
    # check reads a partner's contacts by match key (multikey). The plain partner_id
    # index must stay beside them: the embedded store serves an equality on a field
    # from an index only if one is named after that field alone (docs/storage.md);
    # without it every partner_id query here scans the whole collection.
    c.HUBSPOT_CONTACTS: [_idx(("partner_id", ASCENDING), ("dirty", ASCENDING)),
                         _idx(("partner_id", ASCENDING)),
                         _idx(("partner_id", ASCENDING), ("match_keys", ASCENDING))],
    c.HUBSPOT_DEALS: [_idx(("partner_id", ASCENDING), ("dirty", ASCENDING))],
    c.STAGE_MAPPINGS: [
        _idx(("partner_id", ASCENDING)),
        _idx(("canonical_stage", ASCENDING)),
    ],
    # HubSpot webhook inbox (pc_core/hubspot/webhooks/ingest.py): _id is the event's natural
    # key; a run reads a partner's unprocessed events by equality, the sensor every
    # partner's (one query per tick, pc_core/hubspot/sync_back/partner_runs.py).
    c.WEBHOOK_EVENTS: [_idx(("partner_id", ASCENDING), ("processed", ASCENDING)),
                       _idx(("processed", ASCENDING)),
                       # retention (pc_core/store/retention.py): processed, by age
                       _idx(("processed", ASCENDING), ("processed_key", ASCENDING))],
    # which worker holds which partner (pc_core/store/leases.py): addressed by _id
    c.WORKER_LEASES: [],
    # Sold leads' deals in the buyer's portal (pc_core/hubspot/lead_build/deal_links.py): links
    # whose buyer deal changed, and a buyer's links.
    c.DEAL_LINKS: [_idx(("pending", ASCENDING)), _idx(("buyer_partner_id", ASCENDING))],
    # Sales on their way to the buyer's CRM (pc_core/marketplace/deliveries.py): the due
    # ones by status + fixed-width ISO due time (the sensor and the run), a buyer's.
    c.CRM_DELIVERIES: [_idx(("status", ASCENDING), ("due_key", ASCENDING)),
                     _idx(("buyer_partner_id", ASCENDING), ("status", ASCENDING))],
    # Lead rebuilds requested by a stage-mapping change
    # (pc_core/hubspot/lead_build/rebuild_requests.py).
    c.LEAD_REBUILDS: [_idx(("status", ASCENDING))],
    # Lead analytics (pc_core/analytics): a partner's stage events (the history), the
    # HubSpot ones waiting for their exact times, a lead's (replaced from HubSpot's
    # property history); purchase events waiting to be reported to Dagster.
    c.STAGE_EVENTS: [_idx(("partner_id", ASCENDING), ("at_ms", ASCENDING)),
                   _idx(("partner_id", ASCENDING), ("needs_history", ASCENDING)),
                   _idx(("lead_id", ASCENDING))],
    c.ASSET_OUTBOX: [_idx(("status", ASCENDING))],
    # Buyer alerts (pc_core/buyer_alerts/criteria.py): a listing's candidates are an
    # $in of at most 16 match keys plus the bounds, among active searches and orders;
    # a user's and a partner's searches; a user's notices waiting for the digest;
    # orders oldest first; a reservation's fill (a failed card step).
    c.SAVED_SEARCHES: [
        _idx(("active", ASCENDING), ("match_key", ASCENDING), ("price_max", ASCENDING)),
        _idx(("partner_id", ASCENDING), ("sort_key", DESCENDING)),
    ],
    c.SEARCH_NOTICES: [
        _idx(("digest", ASCENDING), ("user_id", ASCENDING)),
        _idx(("mail", ASCENDING), ("due_key", ASCENDING)),  # the alert lane's e-mails
        _idx(("partner_id", ASCENDING), ("sort_key", DESCENDING)),
    ],
    c.STANDING_ORDERS: [
        _idx(("active", ASCENDING), ("match_key", ASCENDING), ("price_max", ASCENDING)),
        _idx(("partner_id", ASCENDING), ("sort_key", DESCENDING)),
    ],
    c.STANDING_ORDER_FILLS: [_idx(("reservation_id", ASCENDING))],
    c.SYNC_TASKS: [
        _idx(("partner_id", ASCENDING), ("sort_key", DESCENDING)),
        _idx(("status", ASCENDING)),
        _idx(("status", ASCENDING), ("finished_at", ASCENDING)),  # retention
        _idx(("dagster_run_id", ASCENDING)),
    ],
}


# Indexes only MongoDB can use. The embedded store answers the known-contact check's
# ``match_keys: {$in: [...]}`` (an array field) with a scan of the partner's documents
# whatever its indexes, so there this multikey index is write cost and nothing else:
# every pulled contact put two random entries in it, the HubSpot full pull's contacts
# 9,038 -> 5,515-6,066 records/s (2026-12-05, docs/benchmarks.md).
MONGODB_ONLY: frozenset[tuple[str, str]] = frozenset({
    (c.LEADS, "partner_id_1_match_keys_1"),
    (c.HUBSPOT_CONTACTS, "partner_id_1_match_keys_1"),
})


def ensure_indexes(db: Database) -> None:
    """Create every declared index (on the embedded store, all but ``MONGODB_ONLY``);
    idempotent, safe on every start."""
    mongodb = is_mongodb(db)
    for collection, models in INDEXES.items():
        wanted = [m for m in models
                  if mongodb or (collection, m.document["name"]) not in MONGODB_ONLY]
        if wanted:
            db[collection].create_indexes(wanted)
