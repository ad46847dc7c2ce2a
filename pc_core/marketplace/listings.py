"""What buyers browse: listed leads, without anything that identifies the contact
or the company (no contact name, email, phone, notes; no company name or title,
which would let a buyer skip the purchase), with the price the buyer would pay.

Every page is the fast shape on both stores: an aggregation ``$match`` on
``status`` (+ one equality filter) + ``$sort`` on ``sort_key`` + ``$limit``, served
by the ``(status[, filter], sort_key)`` indexes. ``price_max`` applies to the
effective price (the lead's price, else the seller's default, else the platform's),
which is not stored on the lead, so it is a filter over index-ordered batches with
a bounded scan; a page can then be short, and ``next_cursor`` carries on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo.database import Database

from pc_core import collections as c
from pc_core import events
from pc_core.access import Principal
from pc_core.marketplace import aging
from pc_core.marketplace.pricing import CURRENCY, quote
from pc_core.models.leads import value_label
from pc_core.models.live_events import LeadListed
from pc_core.models.marketplace import ListingOut, ListingPage
from pc_core.settings import Settings
from pc_core.stages import LeadStatus
from pc_core.store import time_key
from pc_core.store.pagination import check_limit, decode_cursor, encode_cursor, newest_first
from pc_core.sync import value_labels
from pc_core.timeutil import ensure_utc, utcnow

log = logging.getLogger(__name__)
Doc = dict[str, Any]
PROJECTION = dict.fromkeys(
    ("partner_id", "company_size", "industry", "location", "budget_cents", "stage",
     "price_cents", "created_at", "sort_key", "price_dropped_at", "field_times"),
    1,
)
# Documents one page may read when a Python-side filter (price_max) discards some.
SCAN_BUDGET = 2000


@dataclass(frozen=True)
class ListingFilters:
    industry: str | None = None
    company_size: str | None = None
    location: str | None = None
    budget_min: int | None = None
    price_max: int | None = None
    stage: str | None = None
    max_age_days: int | None = None  # listed at most this many whole days ago


def _match(filters: ListingFilters, before: str | None, now: datetime) -> Doc:
    match: Doc = {"status": LeadStatus.LISTED.value}
    for field in ("industry", "company_size", "location", "stage"):
        value = getattr(filters, field)
        if value:
            match[field] = value
    if filters.budget_min is not None:
        match["budget_cents"] = {"$gte": filters.budget_min}
    keys: Doc = {}
    if before:
        keys["$lt"] = before
    if filters.max_age_days is not None:
        # ``age_days`` (listing_view) is whole days since creation, as is ``sort_key``'s
        # time: age ≤ N ⇔ created after now - (N + 1) days
        keys["$gt"] = time_key(now - timedelta(days=filters.max_age_days + 1))
    if keys:
        match["sort_key"] = keys
    return match


# Sellers' names, default prices, operator flag and CRM value labels (under
# ``value_labels``), per database, for a few seconds:
# every listings page needs them and they rarely change, so a page usually costs
# one database round trip instead of two. A rename or new default price shows
# within SELLER_TTL_SECONDS.
SELLER_TTL_SECONDS = 5.0
_seller_cache: dict[tuple[str, str], tuple[float, Doc | None]] = {}


def _sellers(db: Database, partner_ids: set[str]) -> dict[str, Doc | None]:
    now = time.monotonic()
    found: dict[str, Doc | None] = {}
    missing = []
    for pid in partner_ids:
        hit = _seller_cache.get((db.name, pid))
        if hit is not None and hit[0] > now:
            found[pid] = hit[1]
        else:
            missing.append(pid)
    if missing:
        fetched = {
            d["_id"]: d
            for d in db[c.PARTNERS].find(
                {"_id": {"$in": sorted(missing)}},
                {"name": 1, "is_operator": 1, "default_lead_price_cents": 1, "rating": 1,
                 "price_aging": 1, "rating_count": 1},
            )
        }
        labels = value_labels.labels_of(db, missing)
        for pid, doc in fetched.items():
            doc["value_labels"] = labels.get(pid, {})
        if len(_seller_cache) > 10_000:
            _seller_cache.clear()
        for pid in missing:
            found[pid] = fetched.get(pid)
            _seller_cache[(db.name, pid)] = (now + SELLER_TTL_SECONDS, found[pid])
    return found


def listing_view(lead: Doc, seller: Doc | None, settings: Settings, viewer: str | None,
                 now: datetime) -> Doc:
    """A listed lead as buyers see it, with its price: the one builder behind the
    listings routes, the ``lead-listed`` event (both validated as ``ListingOut``) and
    the analytics listing table, so all show the same price. ``seller`` carries its
    CRM's value labels under ``value_labels`` (``_sellers``)."""
    price = quote(lead, seller, settings)
    created = ensure_utc(lead["created_at"])
    drop = aging.next_drop(lead, seller, settings)
    labels = {lead["partner_id"]: (seller or {}).get("value_labels") or {}}
    return {
        "id": lead["_id"],
        "own": lead["partner_id"] == viewer,
        "seller_partner_id": lead["partner_id"],
        "seller_name": (seller or {}).get("name"),
        "seller_rating": (seller or {}).get("rating"),
        "seller_rating_count": int((seller or {}).get("rating_count") or 0),
        "company_size": lead.get("company_size"),
        "industry": lead.get("industry"),
        "industry_label": value_label(labels, lead["partner_id"], "industry",
                                      lead.get("industry")),
        "location": lead.get("location"),
        "budget_cents": lead.get("budget_cents"),
        "stage": lead.get("stage"),
        "age_days": max(0, (now - created).days),
        "created_at": created,
        "price_cents": price.price_cents,
        "commission_cents": price.commission_cents,
        "buyer_total_cents": price.buyer_total_cents,
        "currency": CURRENCY,
        "next_price_drop_at": drop.at if drop else None,
        "next_price_cents": drop.price_cents if drop else None,
    }


def list_listings(db: Database, settings: Settings, actor: Principal,
                  filters: ListingFilters, *, limit: int = 50,
                  cursor: str | None = None) -> ListingPage:
    """One page of listings, newest first; the caller's own are marked ``own``."""
    check_limit(limit)
    before = decode_cursor(cursor) if cursor else None
    now = utcnow()
    collection = db[c.LEADS]
    sellers: dict[str, Doc | None] = {}
    picked: list[tuple[Doc, Doc | None]] = []
    scanned = 0
    batch = limit + 1 if filters.price_max is None else max(2 * limit, 100) + 1
    while True:
        docs = list(collection.aggregate(newest_first(_match(filters, before, now), batch,
                                                      PROJECTION)))
        missing = {d["partner_id"] for d in docs} - sellers.keys()
        if missing:
            sellers.update(_sellers(db, missing))
        for doc in docs:
            scanned += 1
            seller = sellers.get(doc["partner_id"])
            if filters.price_max is not None and \
                    quote(doc, seller, settings).price_cents > filters.price_max:
                continue
            picked.append((doc, seller))
            if len(picked) > limit:
                break
        if len(picked) > limit:
            next_cursor = encode_cursor(picked[limit - 1][0]["sort_key"])
            picked = picked[:limit]
            break
        if len(docs) < batch:
            next_cursor = None
            break
        before = docs[-1]["sort_key"]
        if scanned >= SCAN_BUDGET:
            next_cursor = encode_cursor(before)
            break
    return ListingPage.model_validate({
        "items": [listing_view(d, s, settings, actor.partner_id, now) for d, s in picked],
        "next_cursor": next_cursor})


#: What else runs when leads come on the market or get cheaper (buyer alerts and
#: standing orders, ``pc_core.buyer_alerts.dispatch``): called with the listings as
#: ``listing_view`` builds them. Registered by the module that implements them, so
#: the marketplace does not import the features built on it.
ListingHook = Callable[[Database, Settings, list[Doc]], None]
_hooks: list[ListingHook] = []


def after_listed(hook: ListingHook) -> None:
    """Run ``hook`` for every lead listed from now on (once per hook)."""
    if hook not in _hooks:
        _hooks.append(hook)


def _views(db: Database, settings: Settings, leads: list[Doc]) -> list[Doc]:
    sellers = _sellers(db, {lead["partner_id"] for lead in leads})
    now = utcnow()
    return [listing_view(lead, sellers.get(lead["partner_id"]), settings, None, now)
            for lead in leads]


def _run_hooks(db: Database, settings: Settings, views: list[Doc]) -> None:
    """Each hook on its own: a failing alert must not fail the listing that caused it."""
    for hook in _hooks:
        try:
            hook(db, settings, views)
        except Exception:  # noqa: BLE001
            log.exception("listing hook %s failed", getattr(hook, "__name__", hook))


def announce_listed(db: Database, settings: Settings, leads: Iterable[Doc]) -> None:
    """Publish ``lead-listed`` for leads just (re)listed, each carrying the listing as
    ``GET /v1/marketplace/listings`` shows it (the price included), then run the
    listing hooks. Every path that lists a lead calls this: a person's edit or new
    lead, the CSV import, the HubSpot lead builder (webhook and pull), a reservation
    that ends (release, expiry, an orphan relisted) and whatever relists later."""
    leads = list(leads)
    if not leads:
        return
    views = _views(db, settings, leads)
    for view in views:
        listing = ListingOut.model_validate(view)
        events.emit(settings, LeadListed.of_listing(listing))
    _run_hooks(db, settings, views)


def announce_price_drop(db: Database, settings: Settings, lead: Doc) -> None:
    """A listed lead got cheaper: the listing hooks see it again (a search or an
    order whose maximum price it now meets matches; one that matched before is not
    told twice)."""
    if lead.get("status") == LeadStatus.LISTED.value:
        _run_hooks(db, settings, _views(db, settings, [lead]))
