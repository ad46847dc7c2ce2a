"""The data-quality rules behind the Dagster asset checks, each a function that
returns what is wrong (an empty list: all good), so a test can craft a bad case."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
from pymongo.database import Database

from pc_core import collections as c
from pc_core.analytics.listings import CONTACT_FIELDS, LISTING_COLUMNS, contact_values
from pc_core.billing.lines import ADJUSTMENT, PURCHASE, REFUND
from pc_core.hubspot.connection.oauth import connected_partner_ids
from pc_core.hubspot.lead_build.deal_links import DEAL_LINKS
from pc_core.timeutil import ensure_utc, utcnow

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", re.IGNORECASE)
PHONE = re.compile(r"\+?\d[\d\s().-]{7,}\d")
SYNC_MAX_AGE = timedelta(minutes=30)
INBOX_MAX_AGE = timedelta(minutes=1)
INBOX_PEEK = 5000


def leads_sold_twice(db: Database) -> list[dict[str, Any]]:
    """Leads with more than one completed sale (a refunded purchase had completed too:
    a refund does not make a second sale right, it is still a second payment)."""
    counts: Counter[str] = Counter()
    purchases: dict[str, list[str]] = {}
    for d in db[c.PURCHASES].find({"status": {"$in": ["completed", "refunded"]}},
                                  {"lead_id": 1, "completed_at": 1, "status": 1}):
        if d.get("completed_at") is None:
            continue  # refunded before it ever completed: no sale happened
        counts[d["lead_id"]] += 1
        purchases.setdefault(d["lead_id"], []).append(d["_id"])
    return [{"lead_id": lead, "sales": n, "purchases": sorted(purchases[lead])}
            for lead, n in sorted(counts.items()) if n > 1]


def listing_leaks(listings: pl.DataFrame, contacts: dict[str, list[str]]) -> list[str]:
    """What in the listings identifies a contact: a column that is not a listing field,
    an e-mail address or phone number in any text, or a lead's own contact or company
    value (name, e-mail, phone, company, title) inside one of its listing's values."""
    problems = [f"column {col!r} is not a listing field"
                for col in listings.columns if col not in LISTING_COLUMNS]
    problems += [f"column {col!r} is contact data" for col in listings.columns
                 if col in CONTACT_FIELDS]
    text_cols = [col for col, dtype in listings.schema.items() if dtype == pl.Utf8
                 and col not in ("id", "seller_partner_id", "seller_name", "currency")]
    for row in listings.select(["id", *text_cols]).iter_rows(named=True):
        secrets = contacts.get(row["id"], [])
        for col in text_cols:
            value = row[col]
            if not value:
                continue
            low = str(value).lower()
            if EMAIL.search(low) or PHONE.search(low):
                problems.append(f"listing {row['id']}: {col} holds an e-mail or phone number")
            elif any(s in low for s in secrets):
                problems.append(f"listing {row['id']}: {col} holds the lead's contact data")
    return problems


def listings_leaking(db: Database, listings: pl.DataFrame) -> list[str]:
    ids = listings["id"].to_list() if "id" in listings.columns else []
    return listing_leaks(listings, contact_values(db, ids))


def invoice_problems(db: Database, months: list[str] | None = None) -> list[str]:
    """Each invoice's total equals its purchases minus refunds minus credits (plus
    debits carried from locked months), recomputed from its lines, and its stored
    figures agree with those lines."""
    query: dict[str, Any] = {"month": {"$in": months}} if months else {}
    out: list[str] = []
    for doc in db[c.INVOICES].find(query, {"lines": 1, "total_cents": 1,
                                           "purchases_cents": 1, "credits_cents": 1,
                                           "adjustments_cents": 1}):
        lines = doc.get("lines") or []
        purchases = sum(ln["total_cents"] for ln in lines if ln["kind"] == PURCHASE)
        refunds = -sum(ln["total_cents"] for ln in lines if ln["kind"] == REFUND)
        adjust = [ln["total_cents"] for ln in lines if ln["kind"] == ADJUSTMENT]
        credits = -sum(a for a in adjust if a < 0)
        debits = sum(a for a in adjust if a > 0)
        expected = purchases - refunds - credits + debits
        total = int(doc.get("total_cents") or 0)
        if total != expected:
            out.append(f"{doc['_id']}: total {total} != purchases {purchases} - refunds "
                       f"{refunds} - credits {credits} + debits {debits} = {expected}")
        elif int(doc.get("purchases_cents") or 0) != purchases or \
                int(doc.get("credits_cents") or 0) != refunds:
            out.append(f"{doc['_id']}: stored purchases/credits disagree with its lines")
    return out


@dataclass
class StaleSync:
    partner_id: str
    last_synced_at: datetime | None


def stale_partners(db: Database, now: datetime | None = None,
                   max_age: timedelta = SYNC_MAX_AGE) -> list[StaleSync]:
    """Connected partners whose last successful sync is older than ``max_age`` (one
    connected less than ``max_age`` ago and not synced yet is not late)."""
    now = now or utcnow()
    out = []
    for partner in db[c.PARTNERS].find({}, {"hubspot": 1}):
        hub = partner.get("hubspot") or {}
        if not hub.get("portal_id"):
            continue
        last, since = hub.get("last_synced_at"), hub.get("connected_at")
        last = ensure_utc(last) if isinstance(last, datetime) else None
        since = ensure_utc(since) if isinstance(since, datetime) else None
        reference = last or since
        if reference is None or now - reference > max_age:
            out.append(StaleSync(partner["_id"], last))
    return out


@dataclass
class InboxLag:
    oldest_age_s: float = 0.0
    pending: int = 0
    by_partner: dict[str, float] = field(default_factory=dict)


def inbox_lag(db: Database, now: datetime | None = None) -> InboxLag:
    """Age of the oldest unprocessed webhook event (its receipt time), per partner."""
    now = now or utcnow()
    lag = InboxLag()
    for partner_id in connected_partner_ids(db):
        events = list(db[c.WEBHOOK_EVENTS].find(
            {"partner_id": partner_id, "processed": False}, {"received_at": 1, "seq": 1})
            .limit(INBOX_PEEK))
        if not events:
            continue
        lag.pending += len(events)
        oldest = min(_received(e) for e in events)
        age = max(0.0, (now - oldest).total_seconds())
        lag.by_partner[partner_id] = age
        lag.oldest_age_s = max(lag.oldest_age_s, age)
    return lag


def _received(event: dict[str, Any]) -> datetime:
    value = event.get("received_at")
    if isinstance(value, datetime):
        return ensure_utc(value)
    return datetime.fromtimestamp(int(event.get("seq") or 0) / 1_000_000, tz=UTC)  # µs


def deal_count_gap(db: Database, partner_id: str, hubspot_total: int) -> dict[str, int]:
    """The partner's leads against its HubSpot deal count: every active deal is either
    a lead of the partner or a bought lead's copy (a deal link)."""
    active = {str(d["hubspot_id"]) for d in db[c.HUBSPOT_DEALS].find(
        {"partner_id": partner_id}, {"hubspot_id": 1, "archived": 1}) if not d.get("archived")}
    with_lead = {str(d["hubspot_deal_id"]) for d in db[c.LEADS].find(
        {"partner_id": partner_id}, {"hubspot_deal_id": 1}) if d.get("hubspot_deal_id")}
    linked = {str(d.get("deal_id")) for d in db[DEAL_LINKS].find(
        {"buyer_partner_id": partner_id}, {"deal_id": 1})}
    leads = len(active & with_lead) + len(active & linked - with_lead)
    return {"hubspot_deals": hubspot_total, "leads": leads,
            "difference": hubspot_total - leads}

