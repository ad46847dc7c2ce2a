"""``POST /v1/webhooks/stripe``: verify, check, dedupe, dispatch.

The signature is checked with the SDK's ``stripe.WebhookSignature.verify_header``
(300 s tolerance) before anything is read or written; a bad or stale signature
changes nothing. A correctly signed body that is not a Stripe event (not JSON, not
an object, no ``id``...), or whose object lacks the shape its handler reads, is
answered 400 naming the problem and stores nothing: never a 500, which Stripe
would retry for days. Each event id is recorded once in ``stripe_events`` (``_id`` =
event id): a redelivery of a processed event is answered 200 and skipped. An event
whose handling failed stays ``received`` and is handled again when Stripe
redelivers it (the handlers are idempotent and decide by state, so the events of
one payment may arrive in any order). Handlers come from ``events``' registry.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
import stripe
from pydantic import ValidationError
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from pc_core import collections as c
from pc_core.errors import BadRequest
from pc_core.payments.events import StripeEvent, registration
from pc_core.settings import Settings
from pc_core.store import transition
from pc_core.timeutil import utcnow

log = logging.getLogger(__name__)
TOLERANCE_SECONDS = 300
RECEIVED, PROCESSED = "received", "processed"


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
    except ValidationError as exc:
        raise BadRequest(_problem(exc, ""))
    known = registration(data["type"])
    if known is not None and known.shape is not None:
        try:
            known.shape.model_validate(data["data"]["object"])
        except ValidationError as exc:
            raise BadRequest(_problem(exc, "data.object"))
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
    secrets = [settings.stripe_webhook_secret, settings.stripe_connect_webhook_secret]
    for secret in filter(None, secrets):  # the account endpoint's, then the Connect one's
        try:
            stripe.WebhookSignature.verify_header(text, signature, secret,
                                                  tolerance=TOLERANCE_SECONDS)
            return parse_event(payload)
        except stripe.SignatureVerificationError:
            continue
    raise BadRequest("invalid or stale Stripe signature")


def dispatch(db: Database, settings: Settings, event_type: str, obj: dict[str, Any]) -> str:
    """Hand the event's object to the handler registered for its type."""
    known = registration(event_type)
    if known is None:
        return "ignored"
    return known.handler(db, settings, obj)


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
    result = dispatch(db, settings, data["type"], obj)
    transition(db[c.STRIPE_EVENTS], record, from_=RECEIVED, to=PROCESSED,
               changes={"result": result, "updated_at": utcnow()})
    log.info("stripe event %s (%s): %s", data["id"], data["type"], result)
    return {"received": True, "duplicate": False, "result": result}
