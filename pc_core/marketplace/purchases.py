"""Purchases: paying for a reserved lead through a Stripe PaymentIntent.

``create_purchase`` writes a ``pending`` purchase, marks it on the reservation (one
pending purchase per reservation, by compare-and-set) and creates the
PaymentIntent with the purchase id as idempotency key. The reservation stays held
while the payment is pending; the sale itself happens when Stripe says the payment
succeeded (``fulfilment``), never on the client's word.

This module is the only writer of a purchase's ``status``: pending → completed
(``complete``), → failed (``fail``), → refunded (``refund_undeliverable`` for a lead
that could not be delivered, ``refund_after_sale`` for billing's record of a refund
made after the sale). ``fulfilment`` and ``pc_core.billing`` call these.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pymongo.database import Database

from pc_core import collections as c
from pc_core import events
from pc_core.access import Principal
from pc_core.errors import Conflict, NotFound
from pc_core.identity import partners
from pc_core.ids import new_id
from pc_core.journal import outbox
from pc_core.marketplace import payouts
from pc_core.marketplace.names import named
from pc_core.marketplace.pricing import CURRENCY
from pc_core.marketplace.reservations import (
    ACTIVE,
    clear_pending,
    get_reservation_doc,
    hold_for_payment,
)
from pc_core.models.live_events import PurchaseUpdated
from pc_core.models.marketplace import PurchaseCreated, PurchasePage
from pc_core.payments import stripe_client
from pc_core.settings import Settings
from pc_core.store import sort_key, transition_by_id, update_with_retry
from pc_core.store.keys import month_key
from pc_core.store.pagination import below_cursor, fetch_merged_page
from pc_core.timeutil import ensure_utc, utcnow

PENDING, COMPLETED, FAILED, REFUNDED = "pending", "completed", "failed", "refunded"
Doc = dict[str, Any]


def _reservation_usable(reservation: Doc, now: datetime) -> None:
    if reservation["status"] != ACTIVE:
        raise Conflict(f"the reservation is {reservation['status']}")
    if ensure_utc(reservation["expires_at"]) <= now:
        raise Conflict("the reservation has expired")


def create_purchase(db: Database, settings: Settings, actor: Principal,
                    reservation_id: str) -> PurchaseCreated:
    """A pending purchase and its PaymentIntent; asking again while one is pending
    answers that same purchase (a client retry must not open a second payment)."""
    reservation = get_reservation_doc(db, actor, reservation_id)
    actor.require_writer()
    partners.require_active(db, reservation["buyer_partner_id"])  # 403: deactivated
    now = utcnow()
    _reservation_usable(reservation, now)
    existing = _pending_purchase(db, reservation)
    if existing is not None:
        return PurchaseCreated.from_doc(existing)
    seller = db[c.PARTNERS].find_one({"_id": reservation["seller_partner_id"]}) or {}
    purchase_id = new_id()
    purchase: Doc = {
        "_id": purchase_id,
        "reservation_id": reservation_id,
        "lead_id": reservation["lead_id"],
        "buyer_partner_id": reservation["buyer_partner_id"],
        "buyer_user_id": actor.user_id,
        "seller_partner_id": reservation["seller_partner_id"],
        "price_cents": reservation["price_cents"],
        "commission_cents": reservation["commission_cents"],
        "amount_cents": reservation["price_cents"] + reservation["commission_cents"],
        "currency": CURRENCY,
        "destination_account": payouts.destination_for(seller),
        "status": PENDING,
        "payment_intent_id": None,
        "client_secret": None,
        "failure_message": None,
        "refund_id": None,
        "created_at": now,
        "updated_at": now,
        "completed_at": None,
        "sort_key": sort_key(now, purchase_id),
        "rev": 1,
    }
    db[c.PURCHASES].insert_one(purchase)
    held = hold_for_payment(db, reservation, purchase_id, now)
    if held is None:
        # Another request changed the reservation first: answer its purchase, or 409.
        db[c.PURCHASES].delete_one({"_id": purchase_id, "payment_intent_id": None})
        reservation = get_reservation_doc(db, actor, reservation_id)
        _reservation_usable(reservation, now)
        existing = _pending_purchase(db, reservation)
        if existing is None:
            raise Conflict("the reservation changed meanwhile; try again")
        return PurchaseCreated.from_doc(existing)
    try:
        intent = stripe_client.create_payment_intent(
            settings, purchase, purchase["destination_account"]
        )
    except stripe_client.PaymentProviderError as exc:
        events.emit(settings, PurchaseUpdated.of_purchase(fail(db, purchase_id, str(exc.detail))))
        clear_pending(db, reservation_id, purchase_id)
        raise

    def attach(current: Doc) -> Doc:
        return {"payment_intent_id": intent.id, "client_secret": intent.client_secret,
                "updated_at": utcnow()}

    stored = update_with_retry(db[c.PURCHASES], purchase_id, attach, what="purchase")
    events.emit(settings, PurchaseUpdated.of_purchase(stored))
    return PurchaseCreated.from_doc(stored)


def _pending_purchase(db: Database, reservation: Doc) -> Doc | None:
    purchase_id = reservation.get("pending_purchase_id")
    if not purchase_id:
        return None
    doc = db[c.PURCHASES].find_one({"_id": purchase_id})
    if doc is None or doc["status"] != PENDING or not doc.get("client_secret"):
        return None
    return doc


def _moved(db: Database, purchase_id: str, moved: Doc | None) -> Doc:
    """The purchase after a transition: as written, else as it is (another state)."""
    current = moved if moved is not None else db[c.PURCHASES].find_one({"_id": purchase_id})
    if current is None:
        raise NotFound("purchase not found")
    return current


def fail(db: Database, purchase_id: str, message: str, *,
         intent_id: str | None = None) -> Doc:
    """pending → failed (the buyer may pay again); a purchase in any other state is
    returned as it is."""
    changes: Doc = {"failure_message": message, "updated_at": utcnow()}
    if intent_id is not None:
        changes["payment_intent_id"] = intent_id
    return _moved(db, purchase_id, transition_by_id(
        db[c.PURCHASES], purchase_id, from_=PENDING, to=FAILED, changes=changes,
        what="purchase"))


def complete(db: Database, purchase_id: str, *, intent_id: str | None,
             now: datetime) -> Doc:
    """pending (or failed: an earlier attempt's failure) → completed, in the billing
    month of ``now`` (``month``: a month key, what invoices select on); idempotent."""
    return _moved(db, purchase_id, transition_by_id(
        db[c.PURCHASES], purchase_id, from_=(PENDING, FAILED), to=COMPLETED,
        changes={"completed_at": now, "month": month_key(now), "updated_at": now,
                 "payment_intent_id": intent_id, "failure_message": None},
        what="purchase"))


def refund_undeliverable(db: Database, purchase_id: str, *, refund_id: str, reason: str,
                         intent_id: str | None, now: datetime) -> Doc:
    """→ refunded: the payment came in for a lead that can no longer be delivered,
    and Stripe gave the money back (``refund_id``); idempotent."""
    return _moved(db, purchase_id, transition_by_id(
        db[c.PURCHASES], purchase_id, from_=(PENDING, FAILED, COMPLETED), to=REFUNDED,
        changes={"refund_id": refund_id, "refund_reason": reason,
                 "payment_intent_id": intent_id, "refunded_at": now, "updated_at": now},
        what="purchase"))


def refund_after_sale(db: Database, purchase_id: str,
                      refund: Callable[[Doc], Doc | None]) -> Doc:
    """A sold purchase refunded, in whole or in part, after the sale: → refunded with
    the fields ``refund`` computes from the current document (``None``: nothing new;
    it may raise to refuse). What the refund means for invoices is billing's."""
    def change(current: Doc) -> Doc | None:
        fields = refund(current)
        return None if fields is None else {**fields, "status": REFUNDED}

    refunded = update_with_retry(db[c.PURCHASES], purchase_id, change, what="purchase")
    outbox.purchase_changed(db, refunded, "refunded")  # → Dagster's marketplace_purchases
    return refunded


def list_purchases(db: Database, actor: Principal, *, limit: int = 50,
                   cursor: str | None = None) -> PurchasePage:
    """The caller's partner's purchases as buyer and as seller, newest first.

    Two index-backed pages (buyer_partner_id + sort_key, seller_partner_id +
    sort_key) merged by key; the owner sees all purchases.
    """
    key_range = below_cursor(cursor)
    if actor.is_owner:
        matches = [key_range]
    else:
        matches = [{"buyer_partner_id": actor.partner_id, **key_range},
                   {"seller_partner_id": actor.partner_id, **key_range}]
    docs, next_cursor = fetch_merged_page(db[c.PURCHASES], matches, limit)
    return PurchasePage.from_docs(named(db, docs, actor.partner_id), next_cursor)


def anonymise_partner(db: Database, partner_id: str, ref: str, user_ids: list[str]) -> int:
    """A deleted partner's purchases stay (financial records), naming it ``ref`` and
    none of its people (pc_core/governance/partner_removal.py); returns how many."""
    changed: set[str] = set()
    for field in ("buyer_partner_id", "seller_partner_id"):
        for doc in db[c.PURCHASES].find({field: partner_id}, {"_id": 1}).limit(100_000):
            db[c.PURCHASES].update_one({"_id": doc["_id"]}, {"$set": {field: ref}})
            changed.add(doc["_id"])
    if user_ids:
        db[c.PURCHASES].update_many({"buyer_user_id": {"$in": user_ids}},
                                    {"$set": {"buyer_user_id": None}})
    return len(changed)
