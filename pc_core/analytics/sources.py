"""The documents the analytics read, as polars frames (indexed equality queries with
projections: the embedded store answers those from its index)."""

from __future__ import annotations

from typing import Any

import polars as pl
from pymongo.database import Database

from pc_core import collections as c
from pc_core.analytics.funnel import purchases_frame
from pc_core.analytics.history import (
    LEAD_SCHEMA,
    build_history,
    events_frame,
    mapping_frame,
)
from pc_core.hubspot.lead_build.stage_mapping import stage_lookup
from pc_core.journal import stage_events
from pc_core.timeutil import ensure_utc

COMPLETED = ("completed", "refunded")  # a refunded purchase had completed first


def _ms(value: Any) -> int | None:
    return int(ensure_utc(value).timestamp() * 1000) if value is not None else None


def leads_frame(db: Database, partner_id: str) -> pl.DataFrame:
    rows = [{"lead_id": d["_id"], "created_ms": _ms(d.get("created_at")),
             "stage": d.get("stage"), "status": d.get("status"),
             "hubspot": bool(d.get("hubspot_deal_id"))}
            for d in db[c.LEADS].find({"partner_id": partner_id},
                                      {"created_at": 1, "stage": 1, "status": 1,
                                       "hubspot_deal_id": 1})]
    return pl.DataFrame(rows, schema=LEAD_SCHEMA, orient="row") if rows else \
        pl.DataFrame(schema=LEAD_SCHEMA)


def partner_history(db: Database, partner_id: str) -> pl.DataFrame:
    """The partner's ``lead_stage_history`` straight from the documents."""
    return build_history(partner_id, events_frame(stage_events.partner_events(db, partner_id)),
                         leads_frame(db, partner_id), mapping_frame(stage_lookup(db, partner_id)))


def purchases_of(db: Database, partner_id: str, *, is_operator: bool) -> pl.DataFrame:
    """Completed purchases the partner sold or bought (every one, for the operator,
    which earns the commission on all of them)."""
    fields = {"lead_id": 1, "seller_partner_id": 1, "buyer_partner_id": 1, "price_cents": 1,
              "commission_cents": 1, "completed_at": 1, "status": 1}
    queries = [{}] if is_operator else [{"seller_partner_id": partner_id},
                                        {"buyer_partner_id": partner_id}]
    seen: dict[str, dict[str, Any]] = {}
    for query in queries:
        for d in db[c.PURCHASES].find(query, fields):
            if d.get("status") in COMPLETED and d.get("completed_at") is not None:
                seen[d["_id"]] = {**d, "purchase_id": d["_id"],
                                  "completed_ms": _ms(d["completed_at"])}
    return purchases_frame(list(seen.values()))


def is_operator(db: Database, partner_id: str) -> bool:
    doc = db[c.PARTNERS].find_one({"_id": partner_id}, {"is_operator": 1})
    return bool((doc or {}).get("is_operator"))
