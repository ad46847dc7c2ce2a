"""Shared helpers of the billing tests (not a test module)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.database import Database

from pc_core import collections as c
from pc_core.ids import new_id
from pc_core.marketplace.pricing import commission_cents
from pc_core.store import sort_key


def completed_purchase(db: Database, buyer: str, seller: str, price: int, at: datetime, *,
                       operator_seller: bool = False, **extra: Any) -> dict[str, Any]:
    """A purchase as ``marketplace.fulfilment`` leaves it on completion."""
    commission = commission_cents(price, operator_seller)
    pid = new_id()
    doc = {
        "_id": pid, "reservation_id": new_id(), "lead_id": new_id(),
        "buyer_partner_id": buyer, "buyer_user_id": "u", "seller_partner_id": seller,
        "price_cents": price, "commission_cents": commission,
        "amount_cents": price + commission, "currency": "usd", "destination_account": None,
        "status": "completed", "payment_intent_id": f"pi_{pid}", "client_secret": None,
        "failure_message": None, "refund_id": None, "created_at": at, "updated_at": at,
        "completed_at": at, "month": f"{at:%Y-%m}", "sort_key": sort_key(at, pid), "rev": 2,
        **extra,
    }
    db[c.PURCHASES].insert_one(doc)
    return doc
