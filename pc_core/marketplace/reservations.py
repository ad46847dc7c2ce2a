"""Reservations: a buyer holds a listed lead for 7–14 days before paying.

Exactly one buyer gets a lead: the lead goes listed → reserved by a compare-and-set
on its ``_id``, ``status: "listed"`` and ``rev`` (leadstate.reserve); every other
concurrent reserver finds the filter no longer matching and gets 409.

Order of writes: claim a cap slot, reserve the lead, then insert the reservation.
A crash after the lead write leaves the lead naming a reservation that does not
exist; the expiry job relists such leads once their hold time has passed.

This module is the only writer of reservation documents: its status (active →
released / expired / converted), the purchase it waits on and its reminder flag.
``expiry``, ``purchases`` and ``fulfilment`` call the functions below.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pymongo.database import Database

from pc_core import collections as c
from pc_core import events
from pc_core.access import Principal
from pc_core.errors import BadRequest, Conflict, NotFound
from pc_core.identity import partners
from pc_core.ids import new_id
from pc_core.marketplace import leadstate, listings, slots
from pc_core.marketplace.names import named
from pc_core.marketplace.pricing import quote
from pc_core.models.live_events import LeadReleased, LeadReserved, LeadUnlisted
from pc_core.models.marketplace import (
    DEFAULT_DAYS,
    MAX_DAYS,
    MIN_DAYS,
    ReservationOut,
    ReservationPage,
)
from pc_core.settings import Settings
from pc_core.stages import LeadStatus
from pc_core.store import (
    replace_if_unchanged,
    sort_key,
    transition,
    transition_by_id,
    update_with_retry,
)
from pc_core.store.keys import time_key
from pc_core.store.pagination import add_key_range, fetch_page
from pc_core.timeutil import utcnow

ACTIVE, RELEASED, EXPIRED, CONVERTED = "active", "released", "expired", "converted"
# Leads that were never public: another partner's such lead is "not found".
_PRIVATE = frozenset({LeadStatus.OPEN.value, LeadStatus.ARCHIVED.value})

Doc = dict[str, Any]



def _buyer_partner(db: Database, actor: Principal) -> str:
    actor.require_writer()
    if actor.partner_id is None:
        raise BadRequest("reservations are made for a partner: sign in as one of its users")
    partners.require_active(db, actor.partner_id)
    return actor.partner_id


def reserve(db: Database, settings: Settings, actor: Principal, lead_id: str,
            days: int = DEFAULT_DAYS, *, now: datetime | None = None) -> ReservationOut:
    """Hold ``lead_id`` for the caller's partner for ``days`` days.

    - 403: a read-only user, or a user of a deactivated partner.
    - 404: no such lead, or another partner's lead that was never listed.
    - 409: the lead is not available (reserved, sold, unlisted), it is the caller's
      own lead, or the caller's partner already holds its cap of active
      reservations. Reserving one's own lead is a 409, not a 403: the caller's role
      would allow the action, it is the lead's state relative to the caller that
      makes it impossible (api.md: "409 if the lead is not available"), and a 403
      would read as "ask an admin".
    """
    buyer = _buyer_partner(db, actor)
    if not MIN_DAYS <= days <= MAX_DAYS:
        raise BadRequest(f"days must be between {MIN_DAYS} and {MAX_DAYS}")
    now = now or utcnow()
    lead = db[c.LEADS].find_one({"_id": lead_id})
    if lead is None or (lead["partner_id"] != buyer and lead["status"] in _PRIVATE):
        raise NotFound("lead not found")
    if lead["partner_id"] == buyer:
        raise Conflict("a partner cannot reserve its own lead")
    if lead["status"] != LeadStatus.LISTED.value:
        raise Conflict("the lead is not available")
    seller = db[c.PARTNERS].find_one({"_id": lead["partner_id"]})
    price = quote(lead, seller, settings)
    reservation_id = new_id()
    slot_id = slots.claim_slot(db, buyer, reservation_id, settings.max_active_reservations)
    if slot_id is None:
        raise Conflict(
            f"your partner already holds {settings.max_active_reservations} active "
            "reservations; buy or release one first"
        )
    expires_at = now + timedelta(days=days)
    doc: Doc = {
        "_id": reservation_id,
        "lead_id": lead_id,
        "buyer_partner_id": buyer,
        "buyer_user_id": actor.user_id,
        "seller_partner_id": lead["partner_id"],
        "status": ACTIVE,
        "days": days,
        "price_cents": price.price_cents,
        "commission_cents": price.commission_cents,
        "slot_id": slot_id,
        "pending_purchase_id": None,
        "purchase_id": None,
        "reminder_sent_at": None,
        "created_at": now,
        "updated_at": now,
        "expires_at": expires_at,
        "expires_key": time_key(expires_at),
        "ended_at": None,
        "sort_key": sort_key(now, reservation_id),
        "rev": 1,
    }
    try:
        for _ in range(5):
            if leadstate.reserve(db, lead, doc, now) is not None:
                break
            # Someone changed the lead: a winner (→ 409) or an edit (→ try again).
            lead = db[c.LEADS].find_one({"_id": lead_id})
            if lead is None or lead["status"] != LeadStatus.LISTED.value:
                raise Conflict("the lead is not available")
        else:
            raise Conflict("the lead is being changed; try again")
        db[c.RESERVATIONS].insert_one(doc)
    except BaseException:
        slots.free_slot(db, slot_id, reservation_id)
        raise
    events.emit(settings, LeadReserved(lead_id=lead_id, reservation_id=reservation_id))
    return ReservationOut.from_doc(doc)


def get_reservation_doc(db: Database, actor: Principal, reservation_id: str) -> Doc:
    """The reservation if the caller's partner is its buyer (or the caller is the
    owner); another partner's reservation is "not found"."""
    doc = db[c.RESERVATIONS].find_one({"_id": reservation_id})
    if doc is None or not actor.can_see_partner(doc["buyer_partner_id"]):
        raise NotFound("reservation not found")
    return doc


def list_reservations(db: Database, actor: Principal, *, status: str | None = None,
                      limit: int = 50, cursor: str | None = None
                      ) -> ReservationPage:
    """The caller's partner's reservations (as buyer), newest first."""
    match: Doc = {}
    scoped = actor.scoped_partner_id(None)
    if scoped is not None:
        match["buyer_partner_id"] = scoped
    if status:
        match["status"] = status
    add_key_range(match, cursor, None, None)
    docs, next_cursor = fetch_page(db[c.RESERVATIONS], match, limit)
    return ReservationPage.from_docs(named(db, docs, actor.partner_id), next_cursor)


def end_reservation(db: Database, settings: Settings, reservation: Doc, new_status: str,
                    now: datetime) -> Doc | None:
    """active → released/expired, then relist the lead and tell the marketplace.

    Returns the ended reservation, or ``None`` when it was no longer active (someone
    else ended or converted it first).
    """
    ended = transition(db[c.RESERVATIONS], reservation, from_=ACTIVE, to=new_status,
                       changes={"ended_at": now, "updated_at": now})
    if ended is None:
        return None
    relist_lead(db, settings, reservation["lead_id"], reservation["_id"], now)
    slots.free_slot(db, reservation.get("slot_id"), reservation["_id"])
    return ended


def convert(db: Database, reservation_id: str, purchase_id: str, now: datetime) -> Doc | None:
    """The reservation was paid for: → converted (also one that lapsed or was given
    back while the payment went through); idempotent."""
    return transition_by_id(
        db[c.RESERVATIONS], reservation_id, from_=(ACTIVE, RELEASED, EXPIRED), to=CONVERTED,
        changes={"purchase_id": purchase_id, "pending_purchase_id": None, "ended_at": now,
                 "updated_at": now},
        what="reservation")


def hold_for_payment(db: Database, reservation: Doc, purchase_id: str,
                     now: datetime) -> Doc | None:
    """Mark ``purchase_id`` as the payment the reservation waits on; ``None`` if the
    reservation changed since it was read (another request got there first)."""
    return replace_if_unchanged(db[c.RESERVATIONS], reservation,
                                {"pending_purchase_id": purchase_id, "updated_at": now})


def clear_pending(db: Database, reservation_id: str, purchase_id: str) -> None:
    """Let the buyer try paying again: the reservation no longer waits on this one."""
    def clear(current: Doc) -> Doc | None:
        if current.get("pending_purchase_id") != purchase_id:
            return None
        return {"pending_purchase_id": None, "updated_at": utcnow()}

    update_with_retry(db[c.RESERVATIONS], reservation_id, clear, what="reservation")


def mark_reminded(db: Database, reservation: Doc, now: datetime) -> None:
    """The reservation-expiring email went out (the email's own key keeps it
    once-only if this write is lost to a concurrent change)."""
    replace_if_unchanged(db[c.RESERVATIONS], reservation,
                         {"reminder_sent_at": now, "updated_at": now})


def relist_lead(db: Database, settings: Settings, lead_id: str, reservation_id: str,
                now: datetime) -> Doc | None:
    """Put a lead held by ``reservation_id`` back on the market; emits lead-listed.
    A deactivated seller's lead is withdrawn instead (open, ``lead-unlisted``): a
    deactivation never leaves its leads on sale."""
    for _ in range(5):
        lead = db[c.LEADS].find_one({"_id": lead_id})
        if lead is None or (lead.get("reservation") or {}).get("id") != reservation_id:
            return None
        if not partners.is_active(db, lead["partner_id"]):
            after = leadstate.withdraw(db, lead, now)
            if after is not None:
                events.emit(settings, LeadUnlisted(lead_id=lead_id))
                return after
            continue
        after = leadstate.relist(db, lead, reservation_id, now)
        if after is not None:
            listings.announce_listed(db, settings, [after])
            events.emit(settings, LeadReleased(lead_id=lead_id, reservation_id=reservation_id))
            return after
    return None


def release(db: Database, settings: Settings, actor: Principal,
            reservation_id: str) -> ReservationOut:
    """The buyer gives the lead back; 409 while a payment for it is pending, since
    that payment may still succeed."""
    reservation = get_reservation_doc(db, actor, reservation_id)
    actor.require_writer()
    if reservation["status"] != ACTIVE:
        raise Conflict(f"the reservation is {reservation['status']}")
    if reservation.get("pending_purchase_id"):
        raise Conflict("a payment for this reservation is pending")
    ended = end_reservation(db, settings, reservation, RELEASED, utcnow())
    if ended is None:
        raise Conflict("the reservation changed meanwhile; reload and try again")
    return ReservationOut.from_doc(ended)


def forget_partner(db: Database, partner_id: str, ref: str,
                   user_ids: list[str]) -> tuple[int, int]:
    """A deleted partner's reservations (pc_core/governance/partner_removal.py): those
    that never became a sale are removed, converted ones (behind a purchase) kept
    with ``ref`` for the partner and no user. Returns (removed, anonymised)."""
    removed = anonymised = 0
    query: Doc = {"$or": [{"seller_partner_id": partner_id},
                          {"buyer_partner_id": partner_id}]}
    for doc in db[c.RESERVATIONS].find(query).limit(100_000):
        if doc["status"] != CONVERTED:
            removed += db[c.RESERVATIONS].delete_one({"_id": doc["_id"]}).deleted_count
            continue
        changes: Doc = {f: ref for f in ("seller_partner_id", "buyer_partner_id")
                        if doc.get(f) == partner_id}
        if doc.get("buyer_user_id") in user_ids:
            changes["buyer_user_id"] = None
        db[c.RESERVATIONS].update_one({"_id": doc["_id"]}, {"$set": changes})
        anonymised += 1
    return removed, anonymised
