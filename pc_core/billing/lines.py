"""Invoice lines: their shape, their order and the totals, in integer cents.

Line ids are natural keys (``p:{purchase}``, ``r:{purchase}``,
``adj:{month}:{line}``) and lines are sorted by (kind, time, id), so building the
same month from the same purchases gives the same list, byte for byte.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

Line = dict[str, Any]
PURCHASE, REFUND, ADJUSTMENT = "purchase", "refund", "adjustment"
_RANK = {PURCHASE: 0, REFUND: 1, ADJUSTMENT: 2}


def purchase_line(row: dict[str, Any]) -> Line:
    """What the buyer paid for one completed purchase: price + commission."""
    price, commission = int(row["price_cents"]), int(row["commission_cents"])
    return {
        "id": f"p:{row['_id']}", "kind": PURCHASE, "purchase_id": row["_id"],
        "lead_id": row.get("lead_id"), "seller_partner_id": row.get("seller_partner_id"),
        "description": f"Lead {row.get('lead_id')}",
        "price_cents": price, "commission_cents": commission,
        "total_cents": price + commission, "count_delta": 1,
        "at": row.get("completed_at"), "source_month": None, "adjusts": None,
    }


def split_refund(amount: int, price: int, commission: int) -> tuple[int, int]:
    """(price part, commission part) of a refund of ``amount`` cents.

    A full refund returns both parts; a partial one returns commission in
    proportion, rounded down, and the rest as price, so the parts always add up
    to the refund exactly (no cent is lost or made up).
    """
    total = price + commission
    if amount >= total or total <= 0:
        return price, commission
    commission_part = amount * commission // total
    return amount - commission_part, commission_part


def refund_line(row: dict[str, Any]) -> Line:
    """A credit for money given back on a purchase that had completed."""
    price, commission = int(row["price_cents"]), int(row["commission_cents"])
    amount = int(row.get("refund_amount_cents") or price + commission)
    price_part, commission_part = split_refund(amount, price, commission)
    return {
        "id": f"r:{row['_id']}", "kind": REFUND, "purchase_id": row["_id"],
        "lead_id": row.get("lead_id"), "seller_partner_id": row.get("seller_partner_id"),
        "description": f"Refund, lead {row.get('lead_id')}",
        "price_cents": -price_part, "commission_cents": -commission_part,
        "total_cents": -(price_part + commission_part), "count_delta": 0,
        "at": row.get("refunded_at"), "source_month": None, "adjusts": None,
    }


def adjustment_line(source_month: str, original: Line | None, adjusts: str,
                    delta_cents: int, delta_price: int, delta_commission: int,
                    count_delta: int) -> Line:
    """A debit (positive) or credit (negative) for a change to ``source_month``,
    whose invoice can no longer be rewritten."""
    what = (original or {}).get("description") or adjusts
    sign = "debit" if delta_cents > 0 else "credit"
    return {
        "id": f"adj:{source_month}:{adjusts}", "kind": ADJUSTMENT,
        "purchase_id": (original or {}).get("purchase_id"),
        "lead_id": (original or {}).get("lead_id"),
        "seller_partner_id": (original or {}).get("seller_partner_id"),
        "description": f"Correction to {source_month} ({sign}): {what}",
        "price_cents": delta_price, "commission_cents": delta_commission,
        "total_cents": delta_cents, "count_delta": count_delta,
        "at": None, "source_month": source_month, "adjusts": adjusts,
    }


def _time_key(value: datetime | None) -> str:
    return value.isoformat() if isinstance(value, datetime) else ""


def ordered(lines: list[Line]) -> list[Line]:
    return sorted(lines, key=lambda ln: (_RANK[ln["kind"]], ln["source_month"] or "",
                                         _time_key(ln["at"]), ln["id"]))


def totals(lines: list[Line]) -> dict[str, Any]:
    """The invoice's sums; ``total_cents`` is what the partner was charged net."""
    purchases = [ln for ln in lines if ln["kind"] == PURCHASE]
    refunds = [ln for ln in lines if ln["kind"] == REFUND]
    adjustments = [ln for ln in lines if ln["kind"] == ADJUSTMENT]
    by_month: dict[str, int] = {}
    for ln in adjustments:
        by_month[ln["source_month"]] = by_month.get(ln["source_month"], 0) + ln["total_cents"]
    return {
        "purchase_count": len(purchases),
        "purchases_cents": sum(ln["total_cents"] for ln in purchases),
        "price_cents": sum(ln["price_cents"] for ln in lines),
        "commission_cents": sum(ln["commission_cents"] for ln in lines),
        "credits_cents": -sum(ln["total_cents"] for ln in refunds),
        "adjustments_cents": sum(ln["total_cents"] for ln in adjustments),
        "adjustments_by_month": dict(sorted(by_month.items())),
        "total_cents": sum(ln["total_cents"] for ln in lines),
        "line_count": len(lines),
    }


def base_net(doc: dict[str, Any]) -> int:
    """What an invoice bills for its own month (its total minus carried corrections)."""
    return int(doc.get("total_cents") or 0) - int(doc.get("adjustments_cents") or 0)
