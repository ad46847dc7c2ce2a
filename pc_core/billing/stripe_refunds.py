"""``charge.refunded``: money given back in Stripe (e.g. from the Dashboard), not by us.

Stripe sends the Charge: ``payment_intent`` (the purchase's PaymentIntent),
``amount_refunded`` (the total refunded so far, partial refunds included), and
``metadata`` (ours, copied from the PaymentIntent, when present); ``refunds`` is only
there when the endpoint expands it (API versions since 2022-11-15). The purchase is
found by ``metadata.purchase_id``, else by its PaymentIntent, and
``record_refund`` marks it refunded with that total, so the buyer is credited on the
open invoice of the month the refund is recorded in. Decided by state: a redelivery,
or the event of an earlier, smaller partial refund, changes nothing.

A purchase that never completed has nothing to credit: the platform's own refund of a
payment it could not deliver (``marketplace.fulfilment``) is recorded there, and its
``charge.refunded`` is ignored here.
"""

from __future__ import annotations

import logging
from typing import Any

from pymongo.database import Database

from pc_core import collections as c
from pc_core.billing.refunds import record_refund
from pc_core.errors import BadRequest

log = logging.getLogger(__name__)
REASON = "refunded in Stripe"


def _purchase(db: Database, charge: dict[str, Any]) -> dict[str, Any] | None:
    metadata = charge.get("metadata") or {}
    purchase_id = metadata.get("purchase_id") if isinstance(metadata, dict) else None
    if isinstance(purchase_id, str) and purchase_id:
        doc = db[c.PURCHASES].find_one({"_id": purchase_id})
        if doc is not None:
            return doc
    intent = charge.get("payment_intent")
    if isinstance(intent, dict):  # expanded
        intent = intent.get("id")
    if not isinstance(intent, str) or not intent:
        return None
    return db[c.PURCHASES].find_one({"payment_intent_id": intent})


def _refund_id(charge: dict[str, Any]) -> str | None:
    refunds = charge.get("refunds")
    data = refunds.get("data") if isinstance(refunds, dict) else None
    first = data[0] if isinstance(data, list) and data else None
    return str(first["id"]) if isinstance(first, dict) and first.get("id") else None


def charge_refunded(db: Database, charge: dict[str, Any]) -> str:
    """Record the charge's refunded total on its purchase; returns what happened."""
    refunded = charge.get("amount_refunded")
    if isinstance(refunded, bool) or not isinstance(refunded, int) or refunded < 0:
        raise BadRequest("invalid Stripe event: data.object.amount_refunded must be a "
                         "non-negative integer")
    purchase = _purchase(db, charge)
    if purchase is None:
        return "unknown-purchase"
    if not purchase.get("month"):
        return f"ignored-{purchase.get('status')}"  # never completed: nothing billed
    total = min(refunded, int(purchase["amount_cents"]))
    if total <= 0:
        return "ignored-nothing-refunded"
    before = int(purchase.get("refund_amount_cents") or 0) if purchase.get("refund_month") \
        else 0
    after = record_refund(db, purchase["_id"], amount_cents=total,
                          refund_id=_refund_id(charge), reason=REASON)
    if int(after.get("refund_amount_cents") or 0) == before:
        return "refund-already-recorded"
    log.info("purchase %s refunded in Stripe: %s cents in all", purchase["_id"], total)
    return "refund-recorded"
