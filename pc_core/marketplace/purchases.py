"""Purchases: paying for a reserved lead through a Stripe PaymentIntent.

``create_purchase`` writes a ``pending`` purchase, marks it on the reservation (one
pending purchase per reservation, by compare-and-set) and creates the
PaymentIntent with the purchase id as idempotency key. The reservation stays held
while the payment is pending; the sale itself happens when Stripe says the payment
succeeded (``fulfilment``), never on the client's word.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.database import Database

from pc_core import collections as c
from pc_core import events
from pc_core.access import Principal
from pc_core.docstore import replace_if_unchanged, update_with_retry
from pc_core.errors import Conflict
from pc_core.ids import new_id, sort_key
from pc_core.marketplace import stripe_client
from pc_core.marketplace.pricing import CURRENCY
from pc_core.marketplace.reservations import ACTIVE, get_reservation_doc
from pc_core.pagination import decode_cursor, fetch_merged_page
from pc_core.settings import Settings
from pc_core.timeutil import ensure_utc, utcnow

PENDING, COMPLETED, FAILED, REFUNDED = "pending", "completed", "failed", "refunded"
Doc = dict[str, Any]


def public_purchase(doc: Doc, *, with_secret: bool = False) -> Doc:
    out = {
        "id": doc["_id"],
        "status": doc["status"],
        "reservation_id": doc["reservation_id"],
        "lead_id": doc["lead_id"],
        "buyer_partner_id": doc["buyer_partner_id"],
        "seller_partner_id": doc["seller_partner_id"],
        "price_cents": doc["price_cents"],
        "commission_cents": doc["commission_cents"],
        "amount_cents": doc["amount_cents"],
        "currency": doc["currency"],
        "payment_intent_id": doc.get("payment_intent_id"),
        "failure_message": doc.get("failure_message"),
        "refund_id": doc.get("refund_id"),
        "created_at": doc["created_at"],
        "completed_at": doc.get("completed_at"),
    }
    if with_secret:
        out["client_secret"] = doc.get("client_secret")
    return out


def _reservation_usable(reservation: Doc, now: datetime) -> None:
    if reservation["status"] != ACTIVE:
        raise Conflict(f"the reservation is {reservation['status']}")
    if ensure_utc(reservation["expires_at"]) <= now:
        raise Conflict("the reservation has expired")


def create_purchase(db: Database, settings: Settings, actor: Principal,
                    reservation_id: str) -> Doc:
    """A pending purchase and its PaymentIntent; asking again while one is pending
    answers that same purchase (a client retry must not open a second payment)."""
    reservation = get_reservation_doc(db, actor, reservation_id)
    actor.require_writer()
    now = utcnow()
    _reservation_usable(reservation, now)
    existing = _pending_purchase(db, reservation)
    if existing is not None:
        return public_purchase(existing, with_secret=True)
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
        "destination_account": seller.get("stripe_account_id"),
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
    held = replace_if_unchanged(db[c.RESERVATIONS], reservation,
                                {"pending_purchase_id": purchase_id, "updated_at": now})
    if held is None:
        # Another request changed the reservation first: answer its purchase, or 409.
        db[c.PURCHASES].delete_one({"_id": purchase_id, "payment_intent_id": None})
        reservation = get_reservation_doc(db, actor, reservation_id)
        _reservation_usable(reservation, now)
        existing = _pending_purchase(db, reservation)
        if existing is None:
            raise Conflict("the reservation changed meanwhile; try again")
        return public_purchase(existing, with_secret=True)
    try:
        intent = stripe_client.create_payment_intent(
            settings, purchase, purchase["destination_account"]
        )
    except stripe_client.PaymentProviderError as exc:
        events.purchase_updated(settings, _mark_failed(db, purchase_id, str(exc.detail)))
        clear_pending(db, reservation_id, purchase_id)
        raise

    def attach(current: Doc) -> Doc:
        return {"payment_intent_id": intent.id, "client_secret": intent.client_secret,
                "updated_at": utcnow()}

    stored = update_with_retry(db[c.PURCHASES], purchase_id, attach, what="purchase")
    events.purchase_updated(settings, stored)
    return public_purchase(stored, with_secret=True)


def _pending_purchase(db: Database, reservation: Doc) -> Doc | None:
    purchase_id = reservation.get("pending_purchase_id")
    if not purchase_id:
        return None
    doc = db[c.PURCHASES].find_one({"_id": purchase_id})
    if doc is None or doc["status"] != PENDING or not doc.get("client_secret"):
        return None
    return doc


def _mark_failed(db: Database, purchase_id: str, message: str) -> Doc:
    def fail(current: Doc) -> Doc | None:
        if current["status"] != PENDING:
            return None
        return {"status": FAILED, "failure_message": message, "updated_at": utcnow()}

    return update_with_retry(db[c.PURCHASES], purchase_id, fail, what="purchase")


def clear_pending(db: Database, reservation_id: str, purchase_id: str) -> None:
    """Let the buyer try paying again: the reservation no longer waits on this one."""
    def clear(current: Doc) -> Doc | None:
        if current.get("pending_purchase_id") != purchase_id:
            return None
        return {"pending_purchase_id": None, "updated_at": utcnow()}

    update_with_retry(db[c.RESERVATIONS], reservation_id, clear, what="reservation")


def list_purchases(db: Database, actor: Principal, *, limit: int = 50,
                   cursor: str | None = None) -> tuple[list[Doc], str | None]:
    """The caller's partner's purchases as buyer and as seller, newest first.

    Two index-backed pages (buyer_partner_id + sort_key, seller_partner_id +
    sort_key) merged by key; the owner sees all purchases.
    """
    key_range: Doc = {"sort_key": {"$lt": decode_cursor(cursor)}} if cursor else {}
    if actor.is_owner:
        matches = [key_range]
    else:
        matches = [{"buyer_partner_id": actor.partner_id, **key_range},
                   {"seller_partner_id": actor.partner_id, **key_range}]
    docs, next_cursor = fetch_merged_page(db[c.PURCHASES], matches, limit)
    return [public_purchase(d) for d in docs], next_cursor
