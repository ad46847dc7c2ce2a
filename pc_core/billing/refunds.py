"""Recording a refund of a completed purchase, for billing.

The refund credit belongs to the month the refund is recorded in
(``refund_month``), not to the purchase's month: a purchase of an invoiced (even
paid) month that is refunded later is credited on the later month's invoice,
and the paid invoice stays as it was.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.database import Database

from pc_core import collections as c
from pc_core.billing.months import month_of
from pc_core.docstore import update_with_retry
from pc_core.errors import BadRequest
from pc_core.timeutil import utcnow


def record_refund(db: Database, purchase_id: str, *, amount_cents: int | None = None,
                  refund_id: str | None = None, reason: str = "refund",
                  now: datetime | None = None) -> dict[str, Any]:
    """Mark a completed purchase refunded (whole or ``amount_cents``); idempotent."""
    now = now or utcnow()

    def change(current: dict[str, Any]) -> dict[str, Any] | None:
        if current.get("refund_month"):
            return None
        if not current.get("month"):
            raise BadRequest("only a completed purchase can be refunded for billing")
        amount = current["amount_cents"] if amount_cents is None else int(amount_cents)
        if not 0 < amount <= current["amount_cents"]:
            raise BadRequest("the refund must be between 1 cent and the amount paid")
        return {"status": "refunded", "refund_id": refund_id or current.get("refund_id"),
                "refund_reason": reason, "refund_amount_cents": amount,
                "refunded_at": now, "refund_month": month_of(now), "updated_at": now}

    return update_with_retry(db[c.PURCHASES], purchase_id, change, what="purchase")
