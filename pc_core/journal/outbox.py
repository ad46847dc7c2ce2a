"""Purchase events for Dagster's lineage, through an outbox.

The API never talks to Dagster: where a purchase completes or is refunded, pc_core
records an outbox document (``asset_outbox``, ``_id`` = what happened + the purchase,
so a redelivered Stripe event records nothing twice); the ``purchases_outbox_sensor``
reports each one as a materialisation of the external asset ``marketplace_purchases``
and marks it reported. Statuses are strings (``pending`` → ``reported``): the
embedded store would keep a ``$set`` boolean as 0/1.
"""

from __future__ import annotations

import logging
from typing import Any

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError, PyMongoError

from pc_core import collections as c
from pc_core.store import queues
from pc_core.timeutil import utcnow

log = logging.getLogger(__name__)

ASSET_OUTBOX = c.ASSET_OUTBOX
PURCHASES_ASSET = "marketplace_purchases"
PENDING, REPORTED = "pending", "reported"
Doc = dict[str, Any]


def purchase_changed(db: Database, purchase: Doc, what: str) -> None:
    """Record that ``purchase`` was ``completed`` or ``refunded``; never raises (the
    sale itself is done: a lost event only leaves a gap in the Dagster UI)."""
    now = utcnow()
    doc = {
        "_id": f"{what}:{purchase['_id']}",
        "asset": PURCHASES_ASSET,
        "status": PENDING,
        "event": what,
        "metadata": {
            "purchase_id": purchase["_id"], "lead_id": purchase.get("lead_id"),
            "seller_partner_id": purchase.get("seller_partner_id"),
            "buyer_partner_id": purchase.get("buyer_partner_id"),
            "price_cents": int(purchase.get("price_cents") or 0),
            "commission_cents": int(purchase.get("commission_cents") or 0),
            "amount_cents": int(purchase.get("amount_cents") or 0),
            "month": purchase.get("month") or purchase.get("refund_month"),
        },
        "created_at": now,
    }
    try:
        db[ASSET_OUTBOX].insert_one(doc)
    except DuplicateKeyError:
        pass
    except PyMongoError:
        log.exception("purchase %s: %s event not recorded for Dagster", purchase["_id"], what)


def pending(db: Database, limit: int = 200, exclude: list[str] | None = None) -> list[Doc]:
    return queues.waiting(db[ASSET_OUTBOX], {"status": PENDING}, limit=limit,
                          exclude=exclude or ())


def mark_reported(db: Database, ids: list[str]) -> None:
    queues.mark(db[ASSET_OUTBOX], ids, {"status": REPORTED})
