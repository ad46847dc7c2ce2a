"""The ``marketplace_listings`` table: a partner's listed leads exactly as buyers see
them, built by the marketplace's one listing builder (``listing_view``: the
anonymisation and the price), plus how the leads stand against the auto-listing rule
(``pc_core.stages.status_for_new_stage``: an open lead whose stage is ``non_fit`` is
listed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl
from pymongo.database import Database

from pc_core import collections as c
from pc_core.marketplace.listings import listing_view
from pc_core.settings import Settings
from pc_core.stages import LeadStatus, Stage, status_for_new_stage
from pc_core.sync import value_labels
from pc_core.timeutil import utcnow

#: What a listing may show; anything else in a listing is a leak (the asset check).
LISTING_COLUMNS: dict[str, Any] = {
    "id": pl.Utf8, "own": pl.Boolean, "seller_partner_id": pl.Utf8, "seller_name": pl.Utf8,
    "seller_rating": pl.Float64, "seller_rating_count": pl.Int64, "company_size": pl.Utf8,
    "industry": pl.Utf8, "industry_label": pl.Utf8,
    "location": pl.Utf8, "budget_cents": pl.Int64, "stage": pl.Utf8, "age_days": pl.Int64,
    "created_at": pl.Datetime("us", "UTC"), "price_cents": pl.Int64,
    "commission_cents": pl.Int64, "buyer_total_cents": pl.Int64, "currency": pl.Utf8,
    "next_price_drop_at": pl.Datetime("us", "UTC"), "next_price_cents": pl.Int64,
}
#: Lead fields that identify the contact or the company, never shown before a sale.
CONTACT_FIELDS = ("contact_name", "contact_email", "contact_phone", "company", "title")
_LEAD_FIELDS = dict.fromkeys(("partner_id", "company_size", "industry", "location",
                              "budget_cents", "stage", "status", "price_cents",
                              "created_at", "price_dropped_at", "field_times",
                              *CONTACT_FIELDS), 1)


@dataclass
class ListingTable:
    listings: pl.DataFrame
    leads: int = 0
    listed: int = 0
    #: open leads the auto-listing rule would list (a stage change not yet applied)
    rule_pending: int = 0
    #: non_fit leads that are not on the market (unlisted by hand, reserved or sold)
    non_fit_off_market: int = 0


def _seller(db: Database, partner_id: str) -> dict[str, Any] | None:
    seller = db[c.PARTNERS].find_one({"_id": partner_id}, {"name": 1, "is_operator": 1,
                                                           "default_lead_price_cents": 1,
                                                           "rating": 1, "rating_count": 1,
                                                           "price_aging": 1})
    if seller is not None:  # the CRM's labels, as the listings routes show them
        seller["value_labels"] = value_labels.labels_of(db, [partner_id]).get(partner_id, {})
    return seller


def listing_rows(leads: list[dict[str, Any]], seller: dict[str, Any] | None,
                 settings: Settings) -> list[dict[str, Any]]:
    now = utcnow()
    return [listing_view(d, seller, settings, None, now) for d in leads
            if d.get("status") == LeadStatus.LISTED.value]


def listings_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Listing dicts → a frame; columns beyond ``LISTING_COLUMNS`` are kept, so a
    builder that starts leaking a field shows up in the table and in the check."""
    if not rows:
        return pl.DataFrame(schema=LISTING_COLUMNS)
    extra = sorted({k for r in rows for k in r} - set(LISTING_COLUMNS))
    schema = {**LISTING_COLUMNS, **dict.fromkeys(extra, pl.Utf8)}
    return pl.DataFrame([{k: (str(r[k]) if k in extra and r.get(k) is not None else r.get(k))
                          for k in schema} for r in rows], schema=schema, orient="row")


def partner_listings(db: Database, settings: Settings, partner_id: str) -> ListingTable:
    leads = list(db[c.LEADS].find({"partner_id": partner_id}, _LEAD_FIELDS))
    table = ListingTable(listings_frame(listing_rows(leads, _seller(db, partner_id), settings)),
                         leads=len(leads))
    for d in leads:
        status, stage = d.get("status"), d.get("stage")
        if status == LeadStatus.LISTED.value:
            table.listed += 1
        if stage not in Stage._value2member_map_ or status not in LeadStatus._value2member_map_:
            continue
        rule = status_for_new_stage(Stage(stage), LeadStatus(status))
        if rule is not LeadStatus(status):
            table.rule_pending += 1
        elif stage == Stage.NON_FIT.value and status != LeadStatus.LISTED.value:
            table.non_fit_off_market += 1
    return table


def contact_values(db: Database, lead_ids: list[str]) -> dict[str, list[str]]:
    """lead id → its contact and company values (lower-cased, ≥ 4 characters)."""
    out: dict[str, list[str]] = {}
    for start in range(0, len(lead_ids), 500):
        for d in db[c.LEADS].find({"_id": {"$in": lead_ids[start:start + 500]}},
                                  dict.fromkeys(CONTACT_FIELDS, 1)):
            out[d["_id"]] = [str(d[f]).strip().lower() for f in CONTACT_FIELDS
                             if d.get(f) and len(str(d[f]).strip()) >= 4]
    return out
