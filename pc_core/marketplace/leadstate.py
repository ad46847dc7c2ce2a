"""The marketplace's writes on a lead document: reserve, relist, sell.

Each is a state transition of ``pc_core.store`` (a compare-and-set on the lead's
``status`` and revision): it is what lets exactly one of many concurrent reservers,
expirers or payments win.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.database import Database

from pc_core import collections as c
from pc_core.journal.stage_events import MARKETPLACE, record_lead_change
from pc_core.stages import LeadStatus
from pc_core.store import transition

Doc = dict[str, Any]


def _replace(db: Database, lead: Doc, expected: LeadStatus, to: LeadStatus, changes: Doc,
             now: datetime) -> Doc | None:
    after = transition(db[c.LEADS], lead, from_=expected.value, to=to.value,
                       changes={**changes, "updated_at": now,
                                "field_times": {**lead.get("field_times", {}), "status": now}})
    record_lead_change(db, lead, after, MARKETPLACE, now)  # listed → reserved → sold
    return after


def reserve(db: Database, lead: Doc, reservation: Doc, now: datetime) -> Doc | None:
    """listed → reserved, remembering which reservation holds it."""
    return _replace(db, lead, LeadStatus.LISTED, LeadStatus.RESERVED, {
        "reservation": {
            "id": reservation["_id"],
            "buyer_partner_id": reservation["buyer_partner_id"],
            "expires_at": reservation["expires_at"],
        },
    }, now)


def relist(db: Database, lead: Doc, reservation_id: str, now: datetime) -> Doc | None:
    """reserved (by ``reservation_id``) → listed; ``None`` if it is held otherwise."""
    if (lead.get("reservation") or {}).get("id") != reservation_id:
        return None
    return _replace(db, lead, LeadStatus.RESERVED, LeadStatus.LISTED, {"reservation": None},
                    now)


def withdraw(db: Database, lead: Doc, now: datetime) -> Doc | None:
    """listed or reserved → open: its seller was deactivated, so it leaves the market
    (``withdrawn_at`` tells a reactivated seller which leads to list again)."""
    return _replace(db, lead, LeadStatus(lead["status"]), LeadStatus.OPEN,
                    {"reservation": None, "withdrawn_at": now}, now)


def sell(db: Database, lead: Doc, purchase: Doc, now: datetime) -> Doc | None:
    """reserved or listed → sold to the purchase's buyer.

    The lead keeps ``partner_id`` (the seller, whose inventory and CRM it came
    from) and gains the buyer as its owner: ``buyer_partner_id`` and
    ``owner_partner_id``, which is how the buyer reads the contact's data after
    the sale (pc_core.leads.inventory.get_lead_doc) and how the cross-partner sync finds it.
    """
    return _replace(db, lead, LeadStatus(lead["status"]), LeadStatus.SOLD, {
        "reservation": None,
        "buyer_partner_id": purchase["buyer_partner_id"],
        "owner_partner_id": purchase["buyer_partner_id"],
        "buyer_id": purchase["buyer_partner_id"],
        "purchase_id": purchase["_id"],
        "sold_at": now,
        "sold_price_cents": purchase["price_cents"],
    }, now)


def deliverable_to(lead: Doc | None, purchase: Doc) -> bool:
    """Whether a paid purchase can still get this lead: it is held by the purchase's
    reservation, or (the reservation lapsed while paying) it is listed again and
    nobody holds it."""
    if lead is None or lead.get("partner_id") != purchase["seller_partner_id"]:
        return False
    if lead["status"] == LeadStatus.RESERVED.value:
        return (lead.get("reservation") or {}).get("id") == purchase["reservation_id"]
    return lead["status"] == LeadStatus.LISTED.value


def give_back(db: Database, lead: Doc, purchase: Doc, now: datetime, *,
              relist: bool) -> Doc | None:
    """sold (by ``purchase``) → listed again (``relist``: the seller may list) or open,
    back with the seller after an accepted return: the buyer loses access to the
    contact (no ``buyer_partner_id`` / ``owner_partner_id`` any more). ``None`` if the
    lead is not sold by this purchase (already given back) or changed meanwhile."""
    if lead.get("purchase_id") != purchase["_id"] or lead["status"] != LeadStatus.SOLD.value:
        return None
    to = LeadStatus.LISTED if relist else LeadStatus.OPEN
    return _replace(db, lead, LeadStatus.SOLD, to, {
        "buyer_partner_id": None, "owner_partner_id": None, "buyer_id": None,
        "purchase_id": None, "sold_at": None, "sold_price_cents": None,
        "returned_purchase_ids": [*lead.get("returned_purchase_ids", []), purchase["_id"]],
    }, now)
