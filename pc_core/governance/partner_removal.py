"""Deleting a partner (the owner, with the partner's name typed to confirm): its data
is erased, or anonymised where another party or the law needs the record.

- First it is deactivated (``partner_lifecycle.deactivate``): people signed out,
  tokens revoked, listings withdrawn, holds released and buyers told.
- Erased: its users (and their sign-ins), API tokens, unsold leads with their notes
  and stage history, HubSpot mirror, stage mapping, sync tasks, queued webhook
  events, meetings, routing counts, e-mails addressed to its people, reservations
  that never became a sale, and the partner itself.
- Kept, anonymised: purchases and invoices (financial records the law requires,
  e.g. a 10-year retention for accounting records), the converted reservations
  behind them, and leads another partner bought from it (the buyer paid for that
  contact) or it bought (the seller's sale record). Every reference to the partner
  becomes ``deleted-partner-<hash>``, the same on every record so the books still
  add up; references to its users are cleared.

Refused (409) while a payment for one of its holds is pending: the sale might
complete after the partner is gone.
"""

from __future__ import annotations

import hashlib

import redis
from pymongo.database import Database

from pc_core import collections as c
from pc_core.access import Principal
from pc_core.errors import BadRequest, Conflict
from pc_core.governance.partner_lifecycle import BATCH, deactivate
from pc_core.identity import partners
from pc_core.identity.session_state import publish_deleted
from pc_core.marketplace import purchases, reservations
from pc_core.marketplace.reservations import ACTIVE
from pc_core.models.partners import PartnerRemovalOut
from pc_core.settings import Settings
from pc_core.stages import LeadStatus

# Collections whose documents are the partner's alone, found by ``partner_id``.
PARTNER_OWNED = (c.API_TOKENS, c.STAGE_MAPPINGS, c.HUBSPOT_CONTACTS, c.HUBSPOT_DEALS,
                 c.CRM_VALUE_LABELS,
                 c.SYNC_TASKS, c.WEBHOOK_EVENTS, c.MEETINGS, c.ROUTING_COUNTS,
                 c.STAGE_EVENTS)
BUYER_FIELDS = ("buyer_partner_id", "owner_partner_id", "buyer_id")


def anonymised_ref(partner_id: str) -> str:
    """The stable stand-in for a deleted partner on the records kept."""
    return "deleted-partner-" + hashlib.sha256(partner_id.encode()).hexdigest()[:12]


def delete_partner(db: Database, r: redis.Redis, settings: Settings, actor: Principal,
                   partner_id: str, confirm_name: str) -> PartnerRemovalOut:
    partner = partners.get_partner_doc(db, actor, partner_id)  # another's: 404
    actor.require_owner()
    if confirm_name.strip() != partner["name"]:
        raise BadRequest("confirm_name must be the partner's name, exactly")
    if partner.get("is_operator"):
        raise Conflict("the operator's partner cannot be deleted")
    in_flight = [x for x in db[c.RESERVATIONS].find(
        {"status": ACTIVE, "$or": [{"seller_partner_id": partner_id},
                                   {"buyer_partner_id": partner_id}]},
        {"pending_purchase_id": 1}).limit(BATCH) if x.get("pending_purchase_id")]
    if in_flight:
        raise Conflict(f"{len(in_flight)} payment(s) for its holds are pending; "
                       "try again once they settle")
    if partner.get("active", True):
        partners.update_partner(db, actor, partner_id, {"active": False})
    lifecycle = deactivate(db, r, settings, partner_id)
    ref = anonymised_ref(partner_id)
    removed: dict[str, int] = {}
    anonymised: dict[str, int] = {}
    user_ids, emails = _remove_users(db, r, partner_id, removed)
    _remove_leads(db, partner_id, ref, removed, anonymised)
    for name in PARTNER_OWNED:
        removed[name] = db[name].delete_many({"partner_id": partner_id}).deleted_count
    removed[c.EMAILS] = _remove_emails_to(db, set(emails))
    removed[c.RESERVATIONS], anonymised[c.RESERVATIONS] = reservations.forget_partner(
        db, partner_id, ref, user_ids)
    anonymised[c.PURCHASES] = purchases.anonymise_partner(db, partner_id, ref, user_ids)
    anonymised[c.INVOICES] = db[c.INVOICES].update_many(
        {"partner_id": partner_id}, {"$set": {"partner_id": ref}}).modified_count
    removed[c.PARTNERS] = db[c.PARTNERS].delete_one({"_id": partner_id}).deleted_count
    return PartnerRemovalOut(partner_id=partner_id, anonymised_as=ref,
                             removed={k: v for k, v in removed.items() if v},
                             anonymised={k: v for k, v in anonymised.items() if v},
                             lifecycle=lifecycle)


def _remove_users(db: Database, r: redis.Redis, partner_id: str,
                  removed: dict[str, int]) -> tuple[list[str], list[str]]:
    users = list(db[c.USERS].find({"partner_id": partner_id}, {"_id": 1, "email": 1})
                 .limit(BATCH))
    ids = [u["_id"] for u in users]
    if ids:
        removed[c.REFRESH_TOKENS] = db[c.REFRESH_TOKENS].delete_many(
            {"user_id": {"$in": ids}}).deleted_count
        removed[c.REFRESH_FAMILIES] = db[c.REFRESH_FAMILIES].delete_many(
            {"user_id": {"$in": ids}}).deleted_count
        removed[c.USERS] = db[c.USERS].delete_many({"_id": {"$in": ids}}).deleted_count
    for user_id in ids:
        publish_deleted(r, user_id)  # every replica refuses its tokens at once
    return ids, [u["email"] for u in users]


def _remove_emails_to(db: Database, addresses: set[str]) -> int:
    """E-mails addressed to its people (``to`` is the comma-joined recipient list)."""
    if not addresses:
        return 0
    ids = [d["_id"] for d in db[c.EMAILS].find({}, {"to": 1}).limit(100 * BATCH)
           if addresses & {a.strip() for a in str(d.get("to") or "").split(",")}]
    return db[c.EMAILS].delete_many({"_id": {"$in": ids}}).deleted_count if ids else 0


def _remove_leads(db: Database, partner_id: str, ref: str, removed: dict[str, int],
                  anonymised: dict[str, int]) -> None:
    """Its unsold leads go; a lead sold to another partner stays with its buyer, and
    a lead it bought stays in its seller's sale record, both with ``ref``."""
    sold = LeadStatus.SOLD.value
    own = list(db[c.LEADS].find({"partner_id": partner_id}, {"status": 1}).limit(10 * BATCH))
    gone = [d["_id"] for d in own if d.get("status") != sold]
    kept = [d["_id"] for d in own if d.get("status") == sold]
    removed[c.LEADS] = db[c.LEADS].delete_many({"_id": {"$in": gone}}).deleted_count \
        if gone else 0
    count = db[c.LEADS].update_many({"_id": {"$in": kept}},
                                    {"$set": {"partner_id": ref}}).modified_count if kept else 0
    for field in BUYER_FIELDS:
        for lead in db[c.LEADS].find({field: partner_id}, {"_id": 1}).limit(10 * BATCH):
            db[c.LEADS].update_one({"_id": lead["_id"]}, {"$set": {field: ref}})
            count += field == BUYER_FIELDS[0]
    anonymised[c.LEADS] = count
