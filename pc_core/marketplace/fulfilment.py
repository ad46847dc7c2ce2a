"""What a payment's outcome does, decided by state, never by arrival order.

Success: the lead is sold to the purchase's buyer by one compare-and-set on the
lead (``leadstate.sell``): that single write is the claim, so a lead is sold once
however many events, redeliveries or concurrent handlers arrive. Every later step
(the pending delivery to the buyer's CRM, purchase completed, reservation
converted, cap slot freed, emails, ``lead-sold``) is idempotent, so a handler that
died mid-way is finished by the redelivery.
A payment for a lead that can no longer be delivered (sold to someone else,
withdrawn) is refunded through Stripe and recorded on the purchase.

Failure: a pending purchase becomes ``failed`` and the reservation stops waiting
on it (the buyer may pay again until the reservation expires); a completed or
refunded purchase ignores it (a late failure event of an earlier attempt).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from pymongo.database import Database

from pc_core import collections as c
from pc_core.events import emit
from pc_core.journal import outbox
from pc_core.marketplace import (
    deliveries,
    leadstate,
    notifications,
    purchases,
    ratings,
    reservations,
    slots,
    standing_orders,
)
from pc_core.marketplace.money_words import UNAVAILABLE_REASON
from pc_core.marketplace.purchases import COMPLETED, FAILED, PENDING, REFUNDED
from pc_core.models.live_events import LeadSold, PurchaseUpdated
from pc_core.payments import stripe_client
from pc_core.settings import Settings
from pc_core.store import wakeups
from pc_core.timeutil import utcnow

log = logging.getLogger(__name__)
Doc = dict[str, Any]


def find_purchase(db: Database, intent: dict[str, Any]) -> Doc | None:
    """The purchase a PaymentIntent pays for: by the metadata we wrote, else by the
    intent id (an intent created before its id was stored on the purchase)."""
    purchase_id = (intent.get("metadata") or {}).get("purchase_id")
    if purchase_id:
        doc = db[c.PURCHASES].find_one({"_id": purchase_id})
        if doc is not None:
            return doc
    return db[c.PURCHASES].find_one({"payment_intent_id": intent.get("id")})


def payment_succeeded(db: Database, settings: Settings, intent: dict[str, Any]) -> str:
    """Complete the purchase paid by ``intent``; returns what happened."""
    purchase = find_purchase(db, intent)
    if purchase is None:
        return "unknown-purchase"
    if purchase["status"] == REFUNDED:
        return "already-refunded"
    if purchase["status"] == COMPLETED:
        # Completed by an earlier delivery, which may have died before the steps that
        # follow completion (found by the fault soak: a reservation left active beside
        # its sold lead); they are idempotent, so they run again.
        lead = db[c.LEADS].find_one({"_id": purchase["lead_id"]})
        if lead is not None:
            _after_completion(db, settings, purchase, lead, utcnow())
        return "already-completed"
    if int(intent.get("amount_received") or intent.get("amount") or 0) < purchase["amount_cents"]:
        log.error("intent %s paid less than purchase %s", intent.get("id"), purchase["_id"])
        return "amount-mismatch"
    now = utcnow()
    sold_now = False
    lead = None
    for _ in range(5):
        lead = db[c.LEADS].find_one({"_id": purchase["lead_id"]})
        if lead is not None and lead.get("purchase_id") == purchase["_id"]:
            break  # sold by an earlier delivery of this event; finish the rest
        if not leadstate.deliverable_to(lead, purchase):
            return _refund(db, settings, purchase, intent, UNAVAILABLE_REASON)
        after = leadstate.sell(db, lead, purchase, now)
        if after is not None:
            lead, sold_now = after, True
            break
    else:
        raise RuntimeError(f"lead {purchase['lead_id']} kept changing; retry later")

    # The sale's way to the buyer's CRM, recorded before anything else can fail
    # (the hot-path worker delivers it, ``crm_delivery_sensor`` is the backstop);
    # keyed by the purchase, so a redelivered event records nothing new.
    deliveries.record_pending(db, purchase, lead, now)
    wakeups.announce(settings, wakeups.SALE, [purchase["buyer_partner_id"]])  # hot path

    purchase = purchases.complete(db, purchase["_id"], intent_id=intent.get("id"), now=now)
    emit(settings, PurchaseUpdated.of_purchase(purchase))
    outbox.purchase_changed(db, purchase, "completed")  # → Dagster's marketplace_purchases

    _after_completion(db, settings, purchase, lead, now)
    if sold_now:
        emit(settings, LeadSold(lead_id=lead["_id"],
                                seller_partner_id=purchase["seller_partner_id"],
                                buyer_partner_id=purchase["buyer_partner_id"]))
        ratings.refresh(db, purchase["seller_partner_id"])
    return "completed" if sold_now else "completed-earlier"


def _after_completion(db: Database, settings: Settings, purchase: Doc, lead: Doc,
                      now: datetime) -> None:
    """The reservation converted, its cap slot freed, the sale's e-mails sent: each
    idempotent, so a redelivery finishes what a handler that died left undone."""
    reservation = reservations.convert(db, purchase["reservation_id"], purchase["_id"], now)
    if reservation is not None:
        slots.free_slot(db, reservation.get("slot_id"), reservation["_id"])
    notifications.sale_emails(db, settings, purchase, lead)


def _refund(db: Database, settings: Settings, purchase: Doc, intent: dict[str, Any],
            reason: str) -> str:
    """Money back for an undeliverable lead; the purchase records the refund."""
    refund = stripe_client.refund(settings, intent["id"], purchase["_id"], reason,
                                  destination_charge=bool(purchase.get("destination_account")))
    refunded = purchases.refund_undeliverable(db, purchase["_id"], refund_id=refund.id,
                                              reason=reason, intent_id=intent.get("id"),
                                              now=utcnow())
    emit(settings, PurchaseUpdated.of_purchase(refunded))
    outbox.purchase_changed(db, refunded, "refunded")
    reservations.clear_pending(db, purchase["reservation_id"], purchase["_id"])
    return "refunded"


def payment_failed(db: Database, settings: Settings, intent: dict[str, Any]) -> str:
    purchase = find_purchase(db, intent)
    if purchase is None:
        return "unknown-purchase"
    if purchase["status"] != PENDING:
        return f"ignored-{purchase['status']}"
    error = intent.get("last_payment_error") or {}
    message = (error.get("message") if isinstance(error, dict) else None) or "payment failed"
    after = purchases.fail(db, purchase["_id"], message, intent_id=intent.get("id"))
    if after["status"] == FAILED:
        reservations.clear_pending(db, purchase["reservation_id"], purchase["_id"])
        standing_orders.card_failed(db, purchase["reservation_id"])
        emit(settings, PurchaseUpdated.of_purchase(after))
        return "failed"
    return f"ignored-{after['status']}"

