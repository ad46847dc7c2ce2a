"""Partners: the agencies that buy and sell leads, and the operator that runs the
platform (who pays no commission to itself)."""

from __future__ import annotations

import re
from typing import Any

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from pc_core import collections as c
from pc_core.access import Principal
from pc_core.errors import BadRequest, Conflict, Forbidden, NotFound
from pc_core.ids import new_id
from pc_core.models.partners import PartnerOut, PartnerStatsOut
from pc_core.store import update_with_retry
from pc_core.store.counts import count_by
from pc_core.timeutil import utcnow

# Fields an admin may change on its own partner; the rest are the owner's.
ADMIN_EDITABLE = frozenset({"name", "website", "default_lead_price_cents"})
OWNER_EDITABLE = ADMIN_EDITABLE | {"active", "is_operator"}
# Settings that may be cleared with null; the others always have a value.
NULLABLE = frozenset({"website", "default_lead_price_cents"})


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug or "partner"


def _clean_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned:
        raise BadRequest("the partner name cannot be blank")
    return cleaned


def create_partner(
    db: Database,
    actor: Principal,
    *,
    name: str,
    website: str | None = None,
    is_operator: bool = False,
    default_lead_price_cents: int | None = None,
    partner_id: str | None = None,
) -> PartnerOut:
    actor.require_owner()
    name = _clean_name(name)
    now = utcnow()
    doc = {
        "_id": partner_id or new_id(),
        "name": name,
        "slug": slugify(name),
        "website": website,
        "is_operator": is_operator,
        "active": True,
        "default_lead_price_cents": default_lead_price_cents,
        "created_at": now,
        "updated_at": now,
    }
    try:
        db[c.PARTNERS].insert_one(doc)
    except DuplicateKeyError:
        raise Conflict("a partner with this name already exists")
    return PartnerOut.from_doc(doc)


def get_partner_doc(db: Database, actor: Principal, partner_id: str) -> dict[str, Any]:
    actor.require_partner_visible(partner_id, "partner")
    doc = db[c.PARTNERS].find_one({"_id": partner_id})
    if doc is None:
        raise NotFound("partner not found")
    return doc


def is_active(db: Database, partner_id: str | None) -> bool:
    """Whether the partner may act (sign in, buy, sell, sync); no partner (the owner)
    and an unknown one count as active, their own checks refuse them."""
    if partner_id is None:
        return True
    doc = db[c.PARTNERS].find_one({"_id": partner_id}, {"active": 1})
    return doc is None or bool(doc.get("active", True))


def require_active(db: Database, partner_id: str | None) -> None:
    """403 for a deactivated partner: its people may not buy or act for it."""
    if not is_active(db, partner_id):
        raise Forbidden("your partner is deactivated; the platform owner can reactivate it")


def list_partners(db: Database, actor: Principal) -> list[PartnerOut]:
    if actor.is_owner:
        docs = list(db[c.PARTNERS].find({}).limit(5000))
        docs.sort(key=lambda d: d["name"].lower())
    else:
        doc = db[c.PARTNERS].find_one({"_id": actor.partner_id})
        docs = [doc] if doc else []
    return [PartnerOut.from_doc(d) for d in docs]


def update_partner(
    db: Database, actor: Principal, partner_id: str, changes: dict[str, Any]
) -> PartnerOut:
    get_partner_doc(db, actor, partner_id)
    actor.require_writer()
    allowed = OWNER_EDITABLE if actor.is_owner else ADMIN_EDITABLE
    forbidden = set(changes) - allowed
    if forbidden:
        raise Forbidden("only the owner can change: " + ", ".join(sorted(forbidden)))
    nulls = sorted(f for f in changes if changes[f] is None and f not in NULLABLE)
    if nulls:
        raise BadRequest("cannot be null: " + ", ".join(nulls))
    update = {**changes, "updated_at": utcnow()}
    if "name" in changes:
        update["name"] = _clean_name(changes["name"])
        update["slug"] = slugify(update["name"])
    try:
        after = update_with_retry(db[c.PARTNERS], partner_id, lambda _: update, what="partner")
    except DuplicateKeyError:
        raise Conflict("a partner with this name already exists")
    return PartnerOut.from_doc(after)


def _sum_cents(db: Database, collection: str, match: dict, field: str) -> tuple[int, int]:
    rows = list(
        db[collection].aggregate(
            [
                {"$match": match},
                {"$group": {"_id": None, "n": {"$sum": 1}, "cents": {"$sum": f"${field}"}}},
            ]
        )
    )
    if not rows:
        return 0, 0
    return int(rows[0]["n"]), int(rows[0]["cents"] or 0)


def partner_stats(db: Database, actor: Principal, partner_id: str) -> PartnerStatsOut:
    """Leads by stage and status, and marketplace activity on both sides."""
    get_partner_doc(db, actor, partner_id)
    leads_by_stage = count_by(db[c.LEADS], {"partner_id": partner_id}, "stage")
    leads_by_status = count_by(db[c.LEADS], {"partner_id": partner_id}, "status")
    reservations = count_by(db[c.RESERVATIONS], {"buyer_partner_id": partner_id}, "status")
    bought_n, bought_cents = _sum_cents(
        db, c.PURCHASES, {"buyer_partner_id": partner_id, "status": "completed"}, "amount_cents"
    )
    sold_n, sold_cents = _sum_cents(
        db, c.PURCHASES, {"seller_partner_id": partner_id, "status": "completed"}, "price_cents"
    )
    return PartnerStatsOut.model_validate({
        "partner_id": partner_id,
        "leads_total": sum(leads_by_status.values()),
        "leads_by_stage": leads_by_stage,
        "leads_by_status": leads_by_status,
        "reservations_by_status": reservations,
        "purchases": {
            "bought_count": bought_n,
            "bought_cents": bought_cents,
            "sold_count": sold_n,
            "sold_cents": sold_cents,
        },
    })
