"""``invoice.paid``: the Stripe invoice of one of our monthly invoices was paid.

Found by the ``pc_invoice_id`` metadata we wrote, else by the Stripe invoice id.
Decided by state: an invoice already paid stays as it is, so redeliveries and
any arrival order are harmless.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo.database import Database

from pc_core import collections as c
from pc_core.billing.status import PAID
from pc_core.docstore import update_with_retry
from pc_core.timeutil import utcnow


def invoice_paid(db: Database, obj: dict[str, Any]) -> str:
    doc_id = (obj.get("metadata") or {}).get("pc_invoice_id")
    doc = db[c.INVOICES].find_one({"_id": doc_id}) if doc_id else None
    if doc is None and obj.get("id"):
        doc = db[c.INVOICES].find_one({"stripe_invoice_id": obj["id"]})
    if doc is None:
        return "unknown-invoice"
    if doc["status"] == PAID:
        return "invoice-already-paid"
    paid_epoch = (obj.get("status_transitions") or {}).get("paid_at")
    paid_at = datetime.fromtimestamp(paid_epoch, UTC) if paid_epoch else utcnow()

    def mark(current: dict[str, Any]) -> dict[str, Any] | None:
        if current["status"] == PAID:
            return None
        return {"status": PAID, "paid_at": paid_at, "updated_at": utcnow(),
                "stripe_invoice_id": current.get("stripe_invoice_id") or obj.get("id"),
                "stripe_invoice_number": obj.get("number")
                or current.get("stripe_invoice_number"),
                "finalized_at": current.get("finalized_at") or paid_at}

    update_with_retry(db[c.INVOICES], doc["_id"], mark, what="invoice")
    return "invoice-paid"
