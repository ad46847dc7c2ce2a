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
from pc_core.store import queues, update_with_retry
from pc_core.timeutil import utcnow

DEAL_LINKS = c.DEAL_LINKS
#: When the buyer's deal move was flagged (a date in the replaced document, read by
#: the worker for its latency and by the backstop sensor for its threshold).
FLAGGED_AT = "pending_since"


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


def pending_links(db: Database, limit: int) -> list[dict[str, Any]]:
    """Links whose buyer deal changed (``buyer_partner_id``, ``rev`` and when flagged
    only): what the worker's relay lane and the cross-partner sensor work on."""
    return queues.waiting(db[DEAL_LINKS], {"pending": True}, limit=limit,
                          projection={"buyer_partner_id": 1, "rev": 1, FLAGGED_AT: 1})


def mark_pending(db: Database, links: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The buyer's deal changed: have the cross-partner sync look at it; returns the
    links as flagged. A link already pending is written too (its revision moves,
    keeping its first ``pending_since``), so a relay in progress, which read the deal
    before this change, leaves it pending for the next pass; a concurrent write (the
    relay's) is retried, not lost."""
    def flag(cur: dict[str, Any]) -> dict[str, Any]:
        since = cur.get(FLAGGED_AT) if cur.get("pending") else None
        return {"pending": True, FLAGGED_AT: since or utcnow()}

    return [update_with_retry(db[DEAL_LINKS], link["_id"], flag, what="deal link")
            for link in links]
