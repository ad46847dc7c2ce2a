"""The link between a sold lead and the deal its buyer works it in.

When a lead is sold to a partner with HubSpot connected, the cross-partner sync
creates a deal for it in the buyer's portal (pc_core/hubspot/sync_back/cross_partner.py) and
records the link here, keyed like the buyer's raw deal (``"{buyer}:{deal_id}"``), so
the buyer's lead builder can recognise that deal by ``_id`` alone: it is not a new
lead of the buyer's (no duplicate inventory), it is a purchased lead moving in the
buyer's CRM, flagged ``pending`` for the cross-partner sync to relay to the seller.
``pending`` is an indexed equality flag (no date ranges on the embedded store).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.database import Database

from pc_core import collections as c
from pc_core.store import queues, replace_if_unchanged

DEAL_LINKS = c.DEAL_LINKS


def link_id(buyer_partner_id: str, deal_id: str) -> str:
    return f"{buyer_partner_id}:{deal_id}"


def new_link(lead: dict[str, Any], buyer_partner_id: str, deal_id: str,
             now: datetime) -> dict[str, Any]:
    return {
        "_id": link_id(buyer_partner_id, deal_id),
        "buyer_partner_id": buyer_partner_id,
        "seller_partner_id": lead["partner_id"],
        "lead_id": lead["_id"],
        "deal_id": deal_id,
        "relayed_stage": None,
        "pending": False,
        "created_at": now,
        "rev": 1,
    }


def links_for(db: Database, raw_deal_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The links among these raw deal documents' ids, by ``_id``."""
    return {d["_id"]: d for d in db[DEAL_LINKS].find({"_id": {"$in": raw_deal_ids}})}


def pending_links(db: Database, limit: int) -> list[dict[str, Any]]:
    """Links whose buyer deal changed (``buyer_partner_id`` and ``rev`` only): what
    the cross-partner sensor launches runs for."""
    return queues.waiting(db[DEAL_LINKS], {"pending": True}, limit=limit,
                          projection={"buyer_partner_id": 1, "rev": 1})


def mark_pending(db: Database, links: list[dict[str, Any]]) -> None:
    """The buyer's deal changed: have the cross-partner sync look at it. A concurrent
    writer (the sync itself) leaves the link as it made it; the next change re-flags."""
    for link in links:
        if not link.get("pending"):
            replace_if_unchanged(db[DEAL_LINKS], link, {"pending": True})

