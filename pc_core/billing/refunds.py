"""Recording a refund of a completed purchase, for billing.

The refund credit belongs to the month the refund is recorded in
(``refund_month``), not to the purchase's month: a purchase of an invoiced (even
paid) month that is refunded later is credited on the later month's invoice,
and the paid invoice stays as it was.

``amount_cents`` is the purchase's refunded total so far (Stripe's
``amount_refunded``): the same total again changes nothing (a redelivery), a larger
one (a further partial refund) raises the credit, still in ``refund_month``; if that
month is locked by then, the monthly build carries the difference to the next open
invoice as a correction (``pc_core.billing.adjustments``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.database import Database

from pc_core.errors import BadRequest
from pc_core.marketplace.purchases import refund_after_sale
from pc_core.store.keys import month_key
from pc_core.timeutil import utcnow


def record_refund(db: Database, purchase_id: str, *, amount_cents: int | None = None,
                  refund_id: str | None = None, reason: str = "refund",
                  now: datetime | None = None) -> dict[str, Any]:
    """Mark a completed purchase refunded (whole, or ``amount_cents`` refunded in all
    so far); idempotent."""
    now = now or utcnow()

    def change(current: dict[str, Any]) -> dict[str, Any] | None:
        if not current.get("month"):
            raise BadRequest("only a completed purchase can be refunded for billing")
        amount = current["amount_cents"] if amount_cents is None else int(amount_cents)
        if not 0 < amount <= current["amount_cents"]:
            raise BadRequest("the refund must be between 1 cent and the amount paid")
        if current.get("refund_month"):
            if amount <= int(current.get("refund_amount_cents") or 0):
                return None
            return {"refund_amount_cents": amount, "updated_at": now,
                    "refund_id": refund_id or current.get("refund_id")}
        return {"refund_id": refund_id or current.get("refund_id"),
                "refund_reason": reason, "refund_amount_cents": amount,
                "refunded_at": now, "refund_month": month_key(now), "updated_at": now}

    return refund_after_sale(db, purchase_id, change)
