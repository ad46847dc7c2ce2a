"""``POST /v1/webhooks/stripe``: verify, dedupe, dispatch.

The signature is checked with ``stripe.Webhook.construct_event`` (300 s
tolerance) before anything is read or written; a bad or stale signature changes
nothing. Each event id is recorded once in ``stripe_events`` (``_id`` = event id):
a redelivery of a processed event is answered 200 and skipped. An event whose
handling failed stays ``received`` and is handled again when Stripe redelivers it
(the handlers are idempotent and depend on the purchase's state, so the events of
one payment may arrive in any order).
"""

from __future__ import annotations

import logging
from typing import Any

import stripe
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from pc_core import collections as c
from pc_core.docstore import replace_if_unchanged
from pc_core.errors import BadRequest
from pc_core.marketplace import fulfilment
from pc_core.settings import Settings
from pc_core.timeutil import utcnow

log = logging.getLogger(__name__)
TOLERANCE_SECONDS = 300
RECEIVED, PROCESSED = "received", "processed"


def verify(settings: Settings, payload: bytes, signature: str | None) -> stripe.Event:
    """The event, if Stripe signed this payload within the tolerance; else 400."""
    if not signature:
        raise BadRequest("missing Stripe-Signature header")
    try:
        return stripe.Webhook.construct_event(
            payload, signature, settings.stripe_webhook_secret, tolerance=TOLERANCE_SECONDS
        )
    except stripe.SignatureVerificationError:
        raise BadRequest("invalid or stale Stripe signature")
    except ValueError:
        raise BadRequest("invalid payload")


def _dispatch(db: Database, settings: Settings, event_type: str, obj: dict[str, Any]) -> str:
    if event_type == "payment_intent.succeeded":
        return fulfilment.payment_succeeded(db, settings, obj)
    if event_type == "payment_intent.payment_failed":
        return fulfilment.payment_failed(db, settings, obj)
    if event_type == "charge.refunded":
        # A refund made in Stripe (the Dashboard): credited on the buyer's next invoice.
        from pc_core.billing.stripe_refunds import charge_refunded

        return charge_refunded(db, obj)
    if event_type == "invoice.paid":
        # Purchases are paid by PaymentIntents; invoices are the monthly invoices'.
        from pc_core.billing.webhook import invoice_paid

        return invoice_paid(db, obj)
    return "ignored"


def handle(db: Database, settings: Settings, payload: bytes,
           signature: str | None) -> dict[str, Any]:
    event = verify(settings, payload, signature)
    data = event.to_dict()
    now = utcnow()
    record = {"_id": data["id"], "type": data["type"], "status": RECEIVED,
              "created": data.get("created"), "received_at": now, "updated_at": now,
              "result": None, "rev": 1}
    try:
        db[c.STRIPE_EVENTS].insert_one(record)
    except DuplicateKeyError:
        record = db[c.STRIPE_EVENTS].find_one({"_id": data["id"]}) or record
        if record["status"] == PROCESSED:
            return {"received": True, "duplicate": True, "result": record.get("result")}
    obj = (data.get("data") or {}).get("object") or {}
    result = _dispatch(db, settings, data["type"], obj)
    replace_if_unchanged(db[c.STRIPE_EVENTS], record,
                         {"status": PROCESSED, "result": result, "updated_at": utcnow()})
    log.info("stripe event %s (%s): %s", data["id"], data["type"], result)
    return {"received": True, "duplicate": False, "result": result}
