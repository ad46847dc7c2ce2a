"""A seller's rating, from what buyers did with its leads.

- return rate = accepted returns / sales (completed purchases, returned ones included);
- sell-through = sales / (sales + leads listed now): how much of what it offers sells.

rating = 5 × (0.7 × (1 − return rate) + 0.3 × sell-through), one decimal, shown on
its listings with ``rating_count`` (the sales it rests on); no rating before
``MIN_SALES`` sales. Recomputed on the seller's partner after every sale and every
decided return (three grouped counts, no scan of documents).
"""

from __future__ import annotations

from pymongo.database import Database

from pc_core import collections as c
from pc_core.stages import LeadStatus
from pc_core.store.counts import count_by
from pc_core.timeutil import utcnow

MIN_SALES = 1
RETURN_WEIGHT, SELL_THROUGH_WEIGHT = 0.7, 0.3


def rating_of(sales: int, returned: int, listed: int) -> float | None:
    if sales < MIN_SALES:
        return None
    return_rate = min(returned, sales) / sales
    sell_through = sales / (sales + listed)
    return round(5 * (RETURN_WEIGHT * (1 - return_rate) + SELL_THROUGH_WEIGHT * sell_through),
                 1)


def refresh(db: Database, seller_partner_id: str) -> tuple[float | None, int]:
    """Recompute and store the seller's rating; returns (rating, sales)."""
    sold = count_by(db[c.PURCHASES], {"seller_partner_id": seller_partner_id}, "status")
    sales = sold.get("completed", 0) + sold.get("refunded", 0)
    returns = count_by(db[c.RETURNS], {"seller_partner_id": seller_partner_id}, "status")
    listed = count_by(db[c.LEADS], {"partner_id": seller_partner_id,
                                    "status": LeadStatus.LISTED.value}, "status")
    rating = rating_of(sales, returns.get("accepted", 0), listed.get(LeadStatus.LISTED.value, 0))
    db[c.PARTNERS].update_one({"_id": seller_partner_id}, {"$set": {
        "rating": rating, "rating_count": sales, "rating_at": utcnow()}})
    return rating, sales
