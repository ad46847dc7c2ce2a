"""``POST /v1/webhooks/stripe``: verify, dedupe, dispatch.

The signature is checked with the SDK's ``stripe.WebhookSignature.verify_header``
(300 s tolerance) before anything is read or written; a bad or stale signature
changes nothing. A correctly signed body that is not a Stripe event (not JSON, not
an object, no ``id``...), or whose object lacks the shape our handlers read, is
answered 400 naming the problem and stores nothing: never a 500, which Stripe
would retry for days. Each event id is recorded once in ``stripe_events`` (``_id`` = event id):
a redelivery of a processed event is answered 200 and skipped. An event whose
handling failed stays ``received`` and is handled again when Stripe redelivers it
(the handlers are idempotent and depend on the purchase's state, so the events of
one payment may arrive in any order).
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

import orjson
import stripe
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError
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


# -- what a delivery must look like --------------------------------------------------

Int64 = Annotated[StrictInt, Field(ge=0, le=2**63 - 1)]
Epoch = Annotated[StrictInt, Field(ge=0, le=253_402_300_799)]  # up to 9999-12-31


class _Shape(BaseModel):
    """Checks only the fields we read; everything else passes through untouched."""

    model_config = ConfigDict(extra="allow")


class _EventData(_Shape):
    object: dict[str, Any]


class StripeEvent(_Shape):
    id: StrictStr = Field(min_length=1, max_length=255)
    type: StrictStr = Field(min_length=1, max_length=255)
    created: Int64 | None = None
    data: _EventData


class _PaymentIntent(_Shape):
    id: StrictStr | None = None
    amount: Int64 | None = None
    amount_received: Int64 | None = None
    metadata: dict[str, StrictStr] | None = None


class _PaidAt(_Shape):
    paid_at: Epoch | None = None


class _Invoice(_Shape):
    id: StrictStr | None = None
    number: StrictStr | None = None
    metadata: dict[str, StrictStr] | None = None
    status_transitions: _PaidAt | None = None


OBJECT_SHAPES: dict[str, type[_Shape]] = {
    "payment_intent.succeeded": _PaymentIntent,
    "payment_intent.payment_failed": _PaymentIntent,
    "invoice.paid": _Invoice,
}


def _problem(exc: ValidationError, prefix: str) -> str:
    first = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in (prefix, *first["loc"]) if part != "")
    return f"invalid Stripe event: {where}: {first['msg']}"


def parse_event(payload: bytes) -> dict[str, Any]:
    """The event as a dict, checked: ``BadRequest`` naming the first problem."""
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise BadRequest("invalid Stripe event: the body is not valid JSON")
    if not isinstance(data, dict):
        raise BadRequest("invalid Stripe event: the body must be a JSON object")
    try:
        StripeEvent.model_validate(data)
        shape = OBJECT_SHAPES.get(data["type"])
        if shape is not None:
            try:
                shape.model_validate(data["data"]["object"])
            except ValidationError as exc:
                raise BadRequest(_problem(exc, "data.object"))
    except ValidationError as exc:
        raise BadRequest(_problem(exc, ""))
    return data


def verify(settings: Settings, payload: bytes, signature: str | None) -> dict[str, Any]:
    """The event, if Stripe signed this payload within the tolerance and it is a
    well-formed event; else 400."""
    if not signature:
        raise BadRequest("missing Stripe-Signature header")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("invalid Stripe event: the body is not UTF-8")
    try:
        stripe.WebhookSignature.verify_header(
            text, signature, settings.stripe_webhook_secret, tolerance=TOLERANCE_SECONDS
        )
    except stripe.SignatureVerificationError:
        raise BadRequest("invalid or stale Stripe signature")
    return parse_event(payload)


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
    data = verify(settings, payload, signature)
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
