"""The month's purchases, read in the shapes the embedded store serves quickly.

At 100,000 purchases a ``find`` of the month takes ~17 s on the embedded store,
while one aggregation that ``$match``es the indexed ``month`` string and
``$group``s by buyer with ``$push`` answers in ~6 s (the grouping runs in the
server, and 1,000 compact groups travel instead of 100,000 documents). Refunds
are few, so they are a plain indexed ``find`` on ``refund_month``.

Only purchases that completed carry ``month`` (set at completion by
``marketplace.purchases.complete``), so a purchase refunded before it ever completed
(an undeliverable lead) is on no invoice.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pymongo.database import Database

from pc_core import collections as c

Row = dict[str, Any]
_FIELDS = ("lead_id", "seller_partner_id", "price_cents", "commission_cents",
           "amount_cents", "completed_at")


def bought_in(db: Database, month: str) -> dict[str, list[Row]]:
    """Purchases completed in ``month``, grouped by buyer partner."""
    push = {"_id": "$_id", **{f: f"${f}" for f in _FIELDS}}
    groups = db[c.PURCHASES].aggregate([
        {"$match": {"month": month}},
        {"$group": {"_id": "$buyer_partner_id", "rows": {"$push": push}}},
    ])
    return {g["_id"]: g["rows"] for g in groups if g["_id"]}


def refunded_in(db: Database, month: str) -> list[Row]:
    """Refunds recorded in ``month`` on purchases that had completed."""
    return [r for r in db[c.PURCHASES].find({"refund_month": month}) if r.get("month")]


def by_buyer(rows: list[Row]) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        out[row["buyer_partner_id"]].append(row)
    return out


def bought_by(db: Database, month: str, partner_id: str) -> list[Row]:
    """One partner's purchases of ``month`` (index ``month`` + ``buyer_partner_id``)."""
    return list(db[c.PURCHASES].find({"month": month, "buyer_partner_id": partner_id}))


def refunded_by(db: Database, month: str, partner_id: str) -> list[Row]:
    return [r for r in db[c.PURCHASES].find({"refund_month": month,
                                             "buyer_partner_id": partner_id})
            if r.get("month")]


def charged_in(db: Database, month: str) -> dict[str, dict[str, int]]:
    """Per buyer: how many purchases completed in ``month`` and what they paid,
    summed by the server (the asset check's independent figure)."""
    groups = db[c.PURCHASES].aggregate([
        {"$match": {"month": month}},
        {"$group": {"_id": "$buyer_partner_id", "count": {"$sum": 1},
                    "paid": {"$sum": "$amount_cents"}}},
    ])
    return {g["_id"]: {"count": int(g["count"]), "paid": int(g["paid"])}
            for g in groups if g["_id"]}
