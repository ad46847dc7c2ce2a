"""A partner's deactivation and reactivation, and what each does across the platform.

Deactivating (the owner, ``PATCH /v1/partners/{id}`` with ``active: false``):

- its people are signed out everywhere (session version bumped and published, so
  every API replica refuses their access tokens at once; refresh families revoked)
  and cannot sign in again (``pc_core.identity.auth``); its API tokens are revoked;
- its listings leave the market (``lead-unlisted`` live, so open marketplace pages
  drop them); other buyers' holds on its leads are released through the
  reservation service and each buyer is told by e-mail; holds waiting on a payment
  are left to finish (the buyer has paid; the expiry job withdraws the lead if the
  payment fails, since a deactivated seller's lead is never relisted);
- its own holds on other partners' leads are given back to the market;
- its HubSpot syncs pause (``connected_partner_ids`` leaves it out) and routing
  skips it (``pc_core.meetings``); buying answers 403.

Reactivating lets its people sign in and its syncs resume. Listings are not put
back on the market silently: the answer counts the leads waiting to be listed again.

Both are idempotent: deactivating twice sweeps again and finds nothing new to
withdraw (the sweep also repairs a deactivation that stopped half-way).
"""

from __future__ import annotations

from typing import Any

import redis
from pymongo.database import Database

from pc_core import collections as c
from pc_core import events
from pc_core.access import Principal, Role
from pc_core.errors import Conflict
from pc_core.identity import api_tokens, partners
from pc_core.identity.sessions import sign_out_everywhere
from pc_core.marketplace import leadstate, notifications
from pc_core.marketplace.reservations import ACTIVE, RELEASED, end_reservation
from pc_core.models.live_events import LeadUnlisted
from pc_core.models.partners import PartnerLifecycleOut, PartnerOut
from pc_core.settings import Settings
from pc_core.stages import LeadStatus
from pc_core.timeutil import utcnow

Doc = dict[str, Any]
BATCH = 10_000  # a partner's listings or holds: far fewer in practice
NOT_RELISTED = ("listings are not re-listed automatically: list each lead again from "
                "the leads page")


def update_partner(db: Database, r: redis.Redis, settings: Settings, actor: Principal,
                   partner_id: str, changes: Doc) -> PartnerOut:
    """A partner edit; an ``active`` change also does what it means (above) and the
    answer says what that was."""
    before = partners.get_partner_doc(db, actor, partner_id)
    if changes.get("active") is False and actor.is_owner and before.get("is_operator"):
        raise Conflict("the operator's partner cannot be deactivated")
    out = partners.update_partner(db, actor, partner_id, changes)
    if "active" not in changes:
        return out
    if changes["active"]:
        lifecycle = reactivate(db, partner_id, was_active=before.get("active", True))
    else:
        lifecycle = deactivate(db, r, settings, partner_id)
    return out.model_copy(update={"lifecycle": lifecycle})


def deactivate(db: Database, r: redis.Redis, settings: Settings,
               partner_id: str) -> PartnerLifecycleOut:
    """Everything a deactivated partner must stop doing (the partner is already
    marked inactive, so nothing it starts meanwhile gets through)."""
    now = utcnow()
    out = PartnerLifecycleOut(change="deactivated")
    for user in db[c.USERS].find({"partner_id": partner_id}, {"_id": 1, "role": 1}).limit(BATCH):
        if user["role"] == Role.OWNER:
            continue
        live = len(list(db[c.REFRESH_FAMILIES].find({"user_id": user["_id"],
                                                     "revoked_at": None}, {"_id": 1})))
        sign_out_everywhere(db, r, user["_id"])
        out.users_signed_out += 1
        out.sign_ins_revoked += live
    out.api_tokens_revoked = api_tokens.revoke_partner_tokens(db, r, partner_id)
    _release_holds(db, settings, partner_id, out)
    for lead in db[c.LEADS].find({"partner_id": partner_id,
                                  "status": LeadStatus.LISTED.value}).limit(BATCH):
        if leadstate.withdraw(db, lead, now) is not None:
            events.emit(settings, LeadUnlisted(lead_id=lead["_id"]))
            out.listings_withdrawn += 1
    partner = db[c.PARTNERS].find_one({"_id": partner_id}) or {}
    out.syncs_paused = bool((partner.get("hubspot") or {}).get("portal_id"))
    return out


def _release_holds(db: Database, settings: Settings, partner_id: str,
                   out: PartnerLifecycleOut) -> None:
    """Others' holds on its leads (the lead is withdrawn, the buyer told) and its own
    holds on others' leads (relisted for everyone else)."""
    now = utcnow()
    query = {"status": ACTIVE, "$or": [{"seller_partner_id": partner_id},
                                        {"buyer_partner_id": partner_id}]}
    for reservation in db[c.RESERVATIONS].find(query).limit(BATCH):
        if reservation.get("pending_purchase_id"):
            out.payments_in_flight += 1
            continue
        if end_reservation(db, settings, reservation, RELEASED, now) is None:
            continue
        if reservation["seller_partner_id"] == partner_id:
            out.reservations_released += 1
            out.listings_withdrawn += 1
            out.buyers_notified += notifications.reservation_withdrawn(db, settings, reservation)
        else:
            out.own_reservations_released += 1


def reactivate(db: Database, partner_id: str, *, was_active: bool) -> PartnerLifecycleOut:
    """What comes back by itself (sign-in, syncs) and what waits for its people
    (listings, API tokens)."""
    partner = db[c.PARTNERS].find_one({"_id": partner_id}) or {}
    users = sum(1 for u in db[c.USERS].find({"partner_id": partner_id}, {"active": 1})
                if u.get("active", True))
    waiting = sum(1 for lead in db[c.LEADS].find(
        {"partner_id": partner_id, "status": LeadStatus.OPEN.value},
        {"withdrawn_at": 1}).limit(BATCH) if lead.get("withdrawn_at"))
    notes = [NOT_RELISTED] if waiting else []
    if not was_active:
        notes.append("API tokens revoked at deactivation stay revoked: create new ones")
    return PartnerLifecycleOut(
        change="reactivated", users_can_sign_in=users,
        syncs_resumed=not was_active and bool((partner.get("hubspot") or {}).get("portal_id")),
        listings_to_relist=waiting, notes=notes)
