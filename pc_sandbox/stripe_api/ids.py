"""Stripe-looking identifiers (``pi_...``, ``evt_...``) and timestamps."""

from __future__ import annotations

import secrets
import string
import time

_ALPHABET = string.ascii_letters + string.digits

# Which object kind an id prefix belongs to; used to expand ids into objects.
PREFIX_KIND: dict[str, str] = {
    "pi": "payment_intent",
    "ch": "charge",
    "cus": "customer",
    "re": "refund",
    "in": "invoice",
    "ii": "invoiceitem",
    "evt": "event",
    "acct": "account",
    "tr": "transfer",
    "trr": "transfer_reversal",
    "fee": "application_fee",
    "fr": "fee_refund",
    "po": "payout",
}


def new_id(prefix: str, length: int = 24) -> str:
    """Random id with Stripe's ``prefix_`` convention."""
    return prefix + "_" + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def kind_of(object_id: str) -> str | None:
    """The object kind an id refers to, judged by its prefix."""
    prefix = object_id.split("_", 1)[0]
    return PREFIX_KIND.get(prefix)


def now() -> int:
    """Unix seconds, the unit of every Stripe ``created`` field."""
    return int(time.time())
